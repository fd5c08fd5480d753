//! `/v1/clients`: creating clients, setting their retention and rotating
//! their signing secrets (admin).

use actix_web::{HttpRequest, HttpResponse, web};
use jobcall_entity::{ClientId, SignatureScheme, SignatureSchemes, client};
use jobcall_jobs::{
    clients::{CreateClient, RotateSecret, UpdateClient},
    secrets::SigningSecret,
    signers::NewSigningKey,
    signing_keys::PublicKey,
    time::rfc3339,
    validation::FieldError,
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
    signatures: SignatureSchemes,
    signing_secret: String,
    /// The public key of its `v1a` key, when it has one (created with `v1a`).
    signing_public_key: Option<String>,
}

impl ClientWithSecret {
    fn new(client: &client::Model, secret: &SigningSecret, public_key: Option<PublicKey>) -> Self {
        Self {
            id: client.id.clone(),
            name: client.name.clone(),
            created_at: rfc3339(client.created_at),
            signatures: SignatureSchemes::from_stored(&client.signature_schemes),
            signing_secret: secret.expose(),
            signing_public_key: public_key.map(|key| key.expose()),
        }
    }
}

pub(super) fn client_id(raw: &str) -> Result<ClientId, ApiError> {
    ClientId::parse(raw).map_err(|_| no_such_client(raw))
}

pub(super) fn no_such_client(id: &str) -> ApiError {
    ApiError::NotFound(format!("there is no client `{id}`"))
}

/// A client as an admin sees it after a change: never its secrets.
#[derive(Serialize)]
struct ClientView {
    id: ClientId,
    name: String,
    created_at: String,
    retention_seconds: Option<i64>,
    retention_failed_seconds: Option<i64>,
    signatures: SignatureSchemes,
}

impl From<&client::Model> for ClientView {
    fn from(client: &client::Model) -> Self {
        Self {
            id: client.id.clone(),
            name: client.name.clone(),
            created_at: rfc3339(client.created_at),
            retention_seconds: client.retention_seconds,
            retention_failed_seconds: client.retention_failed_seconds,
            signatures: SignatureSchemes::from_stored(&client.signature_schemes),
        }
    }
}

/// The longest retention a client may be given: a hundred years.
const MAX_RETENTION_SECONDS: i64 = 100 * 365 * 24 * 3600;

/// A retention field of an update: absent (unchanged), null (the server's
/// default) or whole seconds (0: forever).
fn retention(fields: &mut Fields, name: &str) -> Result<Option<Option<i64>>, ApiError> {
    match fields.nullable_integer(name) {
        None => Ok(None),
        Some(None) => Ok(Some(None)),
        Some(Some(seconds)) if (0..=MAX_RETENTION_SECONDS).contains(&seconds) => {
            Ok(Some(Some(seconds)))
        }
        Some(Some(_)) => Err(ApiError::field(
            name,
            format!(
                "must be 0 (forever) to {MAX_RETENTION_SECONDS} seconds, or null (the server's default)"
            ),
        )),
    }
}

/// The `signatures` field: the schemes to sign with, at least one.
fn signatures(fields: &mut Fields) -> Result<Option<SignatureSchemes>, ApiError> {
    let Some(names) = fields.optional_strings("signatures", SignatureScheme::ALL.len()) else {
        return Ok(None);
    };
    let mut schemes = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let refused = |message: String| {
            ApiError::Validation(FieldError::new(format!("signatures.{i}"), message).into())
        };
        let scheme = SignatureScheme::parse(name)
            .ok_or_else(|| refused(format!("`{name}` is not a scheme (schemes: v1, v1a)")))?;
        if schemes.contains(&scheme) {
            return Err(refused(format!("`{name}` is named twice")));
        }
        schemes.push(scheme);
    }
    SignatureSchemes::new(schemes)
        .map(Some)
        .ok_or_else(|| ApiError::field("signatures", "must name at least one scheme: v1, v1a"))
}

pub async fn update(
    request: HttpRequest,
    payload: web::Payload,
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let id = client_id(&path)?;
    let mut fields = Fields::new(read_object(&request, payload, state.api.max_body_bytes).await?);
    let retention_seconds = retention(&mut fields, "retention_seconds");
    let retention_failed_seconds = retention(&mut fields, "retention_failed_seconds");
    let schemes = signatures(&mut fields);
    fields.finish()?;
    let key = state.services.secrets.key();
    let update = UpdateClient {
        retention_seconds: retention_seconds?,
        retention_failed_seconds: retention_failed_seconds?,
        signatures: schemes?.map(|schemes| (schemes, NewSigningKey::generate(&id, key))),
        client_id: id,
    };
    let client = state
        .services
        .writer
        .run(update)
        .await?
        .ok_or_else(|| no_such_client(&path))?;
    // This process signs with the new schemes from the next delivery on.
    state.services.secrets.forget(&client.id);
    info!(client_id = %client.id, "client updated");
    Ok(HttpResponse::Ok().json(ClientView::from(&client)))
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
    let schemes = signatures(&mut fields);
    fields.finish()?;
    let schemes = schemes?.unwrap_or_else(SignatureSchemes::v1);
    let name = name.unwrap_or_default();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::field("name", "must be 1 to 200 characters"));
    }
    let create = CreateClient::with_schemes(name.to_owned(), schemes, state.services.secrets.key());
    let public_key = create.public_key();
    let (client, secret) = state.services.writer.run(create).await?;
    info!(client_id = %client.id, "client created");
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(ClientWithSecret::new(&client, &secret, public_key)))
}

pub async fn rotate_secret(
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let id = client_id(&path)?;
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
        .ok_or_else(|| no_such_client(&path))?;
    // This process's workers sign with the new secret from the next delivery on.
    state.services.secrets.forget(&client.id);
    info!(client_id = %client.id, "signing secret rotated");
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(ClientWithSecret::new(&client, &secret, None)))
}
