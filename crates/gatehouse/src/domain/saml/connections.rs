//! `/v1/saml_connections`: enterprise SSO connections. The identity provider's side
//! comes from its metadata (pasted, or fetched from its URL) and/or explicit fields
//! (explicit fields win); every certificate is parsed before it is stored, every domain
//! is checked and belongs to one connection only.

use serde::Deserialize;

use crate::app::App;
use crate::crypto::ids;
use crate::domain::identifiers::valid_domain;
use crate::domain::model::SamlConnection;
use crate::error::Error;
use crate::saml::keys::{parse_certificates, IdpKey};
use crate::saml::metadata::{parse_idp, IdpMetadata};
use crate::saml::response::AttributeMapping;
use crate::store::StoreError;

const MAX_NAME: usize = 256;
const MAX_DOMAINS: usize = 100;
const MAX_CERTIFICATES: usize = 5;
const MAX_URL: usize = 2048;

/// The body of `POST` and `PATCH /v1/saml_connections`; on `PATCH` a missing field keeps
/// its value.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionParams {
    pub name: Option<String>,
    pub domains: Option<Vec<String>>,
    pub idp_entity_id: Option<String>,
    pub idp_sso_url: Option<String>,
    pub idp_certificate: Option<String>,
    pub idp_certificates: Option<Vec<String>>,
    pub idp_metadata: Option<String>,
    pub idp_metadata_url: Option<String>,
    pub attribute_mapping: Option<MappingParams>,
    pub allow_idp_initiated: Option<bool>,
    pub sign_authn_requests: Option<bool>,
    pub allow_sha1: Option<bool>,
    pub active: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingParams {
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// A connection with its domains, as the API shows it.
#[derive(Debug, Clone)]
pub struct Connection {
    pub row: SamlConnection,
    pub domains: Vec<String>,
}

impl Connection {
    pub fn certificates(&self) -> Vec<String> {
        serde_json::from_str(&self.row.idp_certificates).unwrap_or_default()
    }

    pub fn mapping(&self) -> AttributeMapping {
        serde_json::from_str(&self.row.attribute_mapping).unwrap_or_default()
    }

    /// The keys responses must be signed with.
    pub fn keys(&self) -> Vec<IdpKey> {
        self.certificates()
            .iter()
            .filter_map(|pem| parse_certificates(pem).ok())
            .flatten()
            .map(|(_, key)| key)
            .collect()
    }
}

pub async fn create(app: &App, p: ConnectionParams) -> Result<Connection, Error> {
    let now = app.now();
    let name = p
        .name
        .as_deref()
        .ok_or_else(|| Error::param_missing("name"))?;
    let mut row = SamlConnection {
        id: ids::new_id("samlc"),
        name: clean_name(name)?,
        idp_entity_id: String::new(),
        idp_sso_url: String::new(),
        idp_certificates: "[]".into(),
        attribute_mapping: "{}".into(),
        allow_idp_initiated: 0,
        sign_authn_requests: 0,
        allow_sha1: 0,
        active: 1,
        sealed_sp_key: None,
        sp_certificate: None,
        created_at: now,
        updated_at: now,
    };
    let domains = clean_domains(
        p.domains
            .as_deref()
            .ok_or_else(|| Error::param_missing("domains"))?,
    )?;
    apply(app, &mut row, &p).await?;
    require_idp(&row)?;
    match app.store.insert_saml_connection(&row, &domains).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => return Err(domain_taken()),
        Err(e) => return Err(e.into()),
    }
    Ok(Connection { row, domains })
}

pub async fn update(app: &App, id: &str, p: ConnectionParams) -> Result<Connection, Error> {
    let current = get(app, id).await?;
    let mut row = current.row;
    if let Some(name) = p.name.as_deref() {
        row.name = clean_name(name)?;
    }
    let domains = match p.domains.as_deref() {
        Some(d) => clean_domains(d)?,
        None => current.domains,
    };
    apply(app, &mut row, &p).await?;
    require_idp(&row)?;
    row.updated_at = app.now();
    match app.store.update_saml_connection(&row, &domains).await {
        Ok(true) => Ok(Connection { row, domains }),
        Ok(false) => Err(not_found()),
        Err(StoreError::Conflict) => Err(domain_taken()),
        Err(e) => Err(e.into()),
    }
}

pub async fn get(app: &App, id: &str) -> Result<Connection, Error> {
    let row = app.store.saml_connection(id).await?.ok_or_else(not_found)?;
    let domains = app.store.saml_connection_domains(id).await?;
    Ok(Connection { row, domains })
}

pub async fn list(app: &App) -> Result<Vec<Connection>, Error> {
    let mut out = Vec::new();
    for row in app.store.saml_connections().await? {
        let domains = app.store.saml_connection_domains(&row.id).await?;
        out.push(Connection { row, domains });
    }
    Ok(out)
}

pub async fn delete(app: &App, id: &str) -> Result<(), Error> {
    if app.store.delete_saml_connection(id).await? {
        Ok(())
    } else {
        Err(not_found())
    }
}

/// The active connection an email address's domain is routed to.
pub async fn for_email(app: &App, email: &str) -> Result<Option<Connection>, Error> {
    let Some((_, domain)) = email.trim().rsplit_once('@') else {
        return Ok(None);
    };
    let domain = domain.to_ascii_lowercase();
    let Some(row) = app.store.saml_connection_for_domain(&domain).await? else {
        return Ok(None);
    };
    if row.active == 0 {
        return Ok(None);
    }
    let domains = app.store.saml_connection_domains(&row.id).await?;
    Ok(Some(Connection { row, domains }))
}

/// Applies the identity-provider fields and flags of `p` to `row`.
async fn apply(app: &App, row: &mut SamlConnection, p: &ConnectionParams) -> Result<(), Error> {
    let from_metadata = match (&p.idp_metadata, &p.idp_metadata_url) {
        (Some(_), Some(_)) => {
            return Err(Error::param_invalid(
                "idp_metadata",
                "Give either idp_metadata or idp_metadata_url, not both.",
            ))
        }
        (Some(xml), None) => Some(metadata("idp_metadata", xml)?),
        (None, Some(url)) => Some(fetch_metadata(url).await?),
        (None, None) => None,
    };
    if let Some(m) = from_metadata {
        row.idp_entity_id = m.entity_id;
        row.idp_sso_url = check_url("idp_metadata", &m.sso_url)?;
        row.idp_certificates =
            serde_json::to_string(&m.certificates).map_err(|_| Error::internal())?;
    }
    if let Some(entity) = p.idp_entity_id.as_deref() {
        let entity = entity.trim();
        if entity.is_empty() || entity.len() > MAX_URL {
            return Err(Error::param_invalid(
                "idp_entity_id",
                "idp_entity_id must be 1 to 2048 characters.",
            ));
        }
        row.idp_entity_id = entity.to_string();
    }
    if let Some(url) = p.idp_sso_url.as_deref() {
        row.idp_sso_url = check_url("idp_sso_url", url)?;
    }
    let certificates = match (&p.idp_certificate, &p.idp_certificates) {
        (Some(_), Some(_)) => {
            return Err(Error::param_invalid(
                "idp_certificate",
                "Give either idp_certificate or idp_certificates, not both.",
            ))
        }
        (Some(one), None) => Some(certificates("idp_certificate", std::slice::from_ref(one))?),
        (None, Some(many)) => Some(certificates("idp_certificates", many)?),
        (None, None) => None,
    };
    if let Some(c) = certificates {
        row.idp_certificates = serde_json::to_string(&c).map_err(|_| Error::internal())?;
    }
    if let Some(m) = &p.attribute_mapping {
        let clean = |param: &str, v: &Option<String>| -> Result<Option<String>, Error> {
            match v.as_deref().map(str::trim) {
                None | Some("") => Ok(None),
                Some(v) if v.len() <= MAX_NAME => Ok(Some(v.to_string())),
                Some(_) => Err(Error::param_invalid(
                    param,
                    format!("{param} must be at most {MAX_NAME} characters."),
                )),
            }
        };
        let mapping = AttributeMapping {
            email: clean("attribute_mapping.email", &m.email)?,
            first_name: clean("attribute_mapping.first_name", &m.first_name)?,
            last_name: clean("attribute_mapping.last_name", &m.last_name)?,
        };
        row.attribute_mapping = serde_json::to_string(&mapping).map_err(|_| Error::internal())?;
    }
    let flag = |v: Option<bool>, current: i64| v.map(i64::from).unwrap_or(current);
    row.allow_idp_initiated = flag(p.allow_idp_initiated, row.allow_idp_initiated);
    row.allow_sha1 = flag(p.allow_sha1, row.allow_sha1);
    row.active = flag(p.active, row.active);
    row.sign_authn_requests = flag(p.sign_authn_requests, row.sign_authn_requests);
    if row.sign_authn_requests == 1 && row.sealed_sp_key.is_none() {
        super::signing::provision(app, row)?;
    }
    Ok(())
}

fn require_idp(row: &SamlConnection) -> Result<(), Error> {
    if row.idp_entity_id.is_empty() {
        return Err(Error::param_missing("idp_entity_id")
            .with_long("Give idp_entity_id, or the identity provider's metadata."));
    }
    if row.idp_sso_url.is_empty() {
        return Err(Error::param_missing("idp_sso_url")
            .with_long("Give idp_sso_url, or the identity provider's metadata."));
    }
    if row.idp_certificates == "[]" {
        return Err(Error::param_missing("idp_certificate")
            .with_long("Give idp_certificate, or the identity provider's metadata."));
    }
    Ok(())
}

fn metadata(param: &str, xml: &str) -> Result<IdpMetadata, Error> {
    if xml.len() > crate::saml::response::MAX_RESPONSE_BYTES {
        return Err(Error::param_invalid(
            param,
            format!("{param} is too large."),
        ));
    }
    parse_idp(xml).map_err(|why| Error::param_invalid(param, format!("{param} {why}.")))
}

async fn fetch_metadata(url: &str) -> Result<IdpMetadata, Error> {
    let url = check_url("idp_metadata_url", url)?;
    let fetcher = crate::oauth::Fetcher::new().map_err(|_| Error::internal())?;
    let body = fetcher
        .get_document("saml_metadata", &url)
        .await
        .map_err(|e| {
            tracing::warn!(reason = e.reason, detail = %e.detail, "SAML metadata could not be fetched");
            Error::param_invalid(
                "idp_metadata_url",
                format!("idp_metadata_url could not be read: {}.", e.detail),
            )
        })?;
    let xml = std::str::from_utf8(&body).map_err(|_| {
        Error::param_invalid(
            "idp_metadata_url",
            "idp_metadata_url did not answer UTF-8 XML.",
        )
    })?;
    metadata("idp_metadata_url", xml)
}

fn certificates(param: &str, pems: &[String]) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    for pem in pems {
        let parsed = parse_certificates(pem)
            .map_err(|e| Error::param_invalid(param, format!("{param} {}.", e.0)))?;
        for (pem, _) in parsed {
            if !out.contains(&pem) {
                out.push(pem);
            }
        }
    }
    if out.is_empty() || out.len() > MAX_CERTIFICATES {
        return Err(Error::param_invalid(
            param,
            format!("{param} must hold 1 to {MAX_CERTIFICATES} certificates."),
        ));
    }
    Ok(out)
}

/// An identity provider URL: https, or http on a loopback host (a local test IdP).
fn check_url(param: &str, raw: &str) -> Result<String, Error> {
    let invalid = || {
        Error::param_invalid(
            param,
            format!("{param} must be an https URL (http only on localhost)."),
        )
    };
    let raw = raw.trim();
    if raw.len() > MAX_URL {
        return Err(invalid());
    }
    let url = url::Url::parse(raw).map_err(|_| invalid())?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(invalid()),
    }
    if url.host_str().is_none() || url.fragment().is_some() {
        return Err(invalid());
    }
    Ok(raw.to_string())
}

fn clean_name(name: &str) -> Result<String, Error> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(Error::param_invalid(
            "name",
            format!("name must be 1 to {MAX_NAME} characters."),
        ));
    }
    Ok(name.to_string())
}

fn clean_domains(domains: &[String]) -> Result<Vec<String>, Error> {
    if domains.is_empty() || domains.len() > MAX_DOMAINS {
        return Err(Error::param_invalid(
            "domains",
            format!("domains must list 1 to {MAX_DOMAINS} email domains."),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for d in domains {
        let d = d.trim().trim_start_matches('@').to_ascii_lowercase();
        if !valid_domain(&d) || !d.contains('.') {
            return Err(Error::param_invalid(
                "domains",
                format!("{d:?} is not an email domain (like example.com)."),
            ));
        }
        if !out.contains(&d) {
            out.push(d);
        }
    }
    out.sort();
    Ok(out)
}

fn domain_taken() -> Error {
    Error::new(
        "saml_domain_taken",
        "One of these domains is already routed to another SAML connection.",
    )
    .with_param("domains")
}

fn not_found() -> Error {
    Error::not_found("saml_connection")
}
