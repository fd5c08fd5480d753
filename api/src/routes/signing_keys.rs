//! `/v1/clients/{id}/signing-keys`: the ed25519 public keys that verify a
//! client's `v1a` callback signatures (the client itself may read its own,
//! an admin any client's), and their rotation (admin).

use actix_web::{HttpResponse, web};
use jobcall_entity::{ClientId, SecretId, SignatureSchemes};
use jobcall_jobs::{
    clients::find_client,
    signers::{PublicKeyRecord, RotateSigningKey, public_keys},
    time::rfc3339,
};
use serde::Serialize;
use tracing::info;

use super::clients::{client_id, no_such_client};
use crate::{
    auth::{Caller, Scope},
    error::ApiError,
    state::AppState,
};

#[derive(Serialize)]
struct SigningKeyView {
    id: SecretId,
    algorithm: &'static str,
    public_key: String,
    created_at: String,
    expires_at: Option<String>,
}

impl From<PublicKeyRecord> for SigningKeyView {
    fn from(record: PublicKeyRecord) -> Self {
        Self {
            id: record.id,
            algorithm: "ed25519",
            public_key: record.public_key.expose(),
            created_at: rfc3339(record.created_at),
            expires_at: record.expires_at.map(rfc3339),
        }
    }
}

#[derive(Serialize)]
struct SigningKeys {
    /// The schemes the client's callbacks are signed with now.
    signatures: SignatureSchemes,
    /// Newest first: the current key, then any in their rotation overlap.
    data: Vec<SigningKeyView>,
}

async fn signing_keys_of(state: &AppState, id: &ClientId) -> Result<SigningKeys, ApiError> {
    let client = find_client(&state.services.db, id)
        .await?
        .ok_or_else(|| no_such_client(id.as_str()))?;
    let keys = public_keys(&state.services.db, id).await?;
    Ok(SigningKeys {
        signatures: SignatureSchemes::from_stored(&client.signature_schemes),
        data: keys.into_iter().map(SigningKeyView::from).collect(),
    })
}

pub async fn list(
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = client_id(&path)?;
    // Public keys are public, but which clients exist is not: another
    // client's id answers as if there were no such client.
    if id != caller.client_id && !caller.has(Scope::Admin) {
        return Err(no_such_client(&path));
    }
    Ok(HttpResponse::Ok().json(signing_keys_of(&state, &id).await?))
}

pub async fn rotate(
    path: web::Path<String>,
    caller: Caller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let id = client_id(&path)?;
    let rotate = RotateSigningKey::new(
        id.clone(),
        state.api.secret_rotation_overlap,
        state.services.secrets.key(),
    );
    state
        .services
        .writer
        .run(rotate)
        .await?
        .ok_or_else(|| no_such_client(&path))?;
    // This process's workers sign with the new key from the next delivery on.
    state.services.secrets.forget(&id);
    info!(client_id = %id, "signing key rotated");
    Ok(HttpResponse::Ok().json(signing_keys_of(&state, &id).await?))
}
