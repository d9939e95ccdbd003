//! How the cloud builds PrivateLink names.

use hickory_proto::rr::Name;

use super::types::Service;

pub(crate) type NameResult = Result<Name, String>;

/// `<endpoint>.<service>.<region>.<suffix>`; the region is the service's.
pub(crate) fn endpoint_domain(suffix: &Name, endpoint: &str, service: &Service) -> NameResult {
    build(suffix, &[endpoint, &service.id, &service.region])
}

/// `<endpoint>-<zone>.<service>.<region>.<suffix>`.
pub(crate) fn zone_domain(
    suffix: &Name,
    endpoint: &str,
    service: &Service,
    zone: &str,
) -> NameResult {
    let first = format!("{endpoint}-{zone}");
    build(suffix, &[&first, &service.id, &service.region])
}

/// The generated zone's name server: `ns.<suffix>`.
pub(crate) fn ns_host(suffix: &Name) -> NameResult {
    build(suffix, &["ns"])
}

/// The zone's contact mailbox: `hostmaster.<suffix>`.
pub(crate) fn hostmaster(suffix: &Name) -> NameResult {
    build(suffix, &["hostmaster"])
}

/// Fails when a label or the whole name is too long (63 / 255 octets); the
/// message says which name.
fn build(suffix: &Name, labels: &[&str]) -> NameResult {
    let mut name = Name::from_labels(labels.iter().map(|l| l.as_bytes()))
        .and_then(|n| n.append_domain(suffix))
        .map_err(|e| format!("{}.{suffix} is not a valid name: {e}", labels.join(".")))?;
    name.set_fqdn(true);
    Ok(name)
}

/// Length of the first label of a zone domain, which must fit in 63 octets.
pub(crate) fn zone_label_len(endpoint: &str, zone: &str) -> usize {
    endpoint.len() + 1 + zone.len()
}
