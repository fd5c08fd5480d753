//! `/v1/kinds`: the kinds this server runs, with their input schemas.

use actix_web::{HttpResponse, web};
use jobcall_jobs::kinds::KindInfo;
use serde::Serialize;

use crate::{
    auth::{Caller, Scope},
    error::ApiError,
    state::AppState,
};

#[derive(Serialize)]
struct Kinds {
    data: Vec<KindInfo>,
}

pub async fn list(caller: Caller, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::JobsRead)?;
    Ok(HttpResponse::Ok().json(Kinds {
        data: state.services.registry.describe(),
    }))
}
