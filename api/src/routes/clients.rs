//! `/v1/clients`: creating clients and rotating their signing secrets (admin).

use actix_web::{HttpRequest, HttpResponse, web};
use jobcall_entity::{ClientId, client};
use jobcall_jobs::{
    clients::{CreateClient, RotateSecret},
    secrets::SigningSecret,
    time::rfc3339,
};
use serde::Serialize;
use tracing::info;

use crate::{
    auth::{Caller, Scope},
    body::{Fields, read_object},
    error::ApiError,
    state::AppState,
};

/// A client with its signing secret, shown only in these two responses.
#[derive(Serialize)]
struct ClientWithSecret {
    id: ClientId,
    name: String,
    created_at: String,
    signing_secret: String,
}

impl ClientWithSecret {
    fn new(client: &client::Model, secret: &SigningSecret) -> Self {
        Self {
            id: client.id.clone(),
            name: client.name.clone(),
            created_at: rfc3339(client.created_at),
            signing_secret: secret.expose(),
        }
    }
}

pub async fn create(
    request: HttpRequest,
    payload: web::Payload,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let mut fields = Fields::new(read_object(&request, payload, state.api.max_body_bytes).await?);
    let name = fields.required_string("name");
    fields.finish()?;
    let name = name.unwrap_or_default();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::field("name", "must be 1 to 200 characters"));
    }
    let (client, secret) = state
        .services
        .writer
        .run(CreateClient::new(
            name.to_owned(),
            state.services.secrets.key(),
        ))
        .await?;
    info!(client_id = %client.id, "client created");
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(ClientWithSecret::new(&client, &secret)))
}

pub async fn rotate_secret(
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let not_found = || ApiError::NotFound(format!("there is no client `{path}`"));
    let id = ClientId::parse(&path).map_err(|_| not_found())?;
    let rotate = RotateSecret::new(
        id,
        state.api.secret_rotation_overlap,
        state.services.secrets.key(),
    );
    let (client, secret) = state
        .services
        .writer
        .run(rotate)
        .await?
        .ok_or_else(not_found)?;
    // This process's workers sign with the new secret from the next delivery on.
    state.services.secrets.forget(&client.id);
    info!(client_id = %client.id, "signing secret rotated");
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(ClientWithSecret::new(&client, &secret)))
}
