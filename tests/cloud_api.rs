//! The control API driven by the cloud's own Python SDK
//! (alibabacloud-privatelink20200415), as a lab user's script would drive
//! it, with the DNS answers checked over real UDP after each change.

mod common;

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use common::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use serde_json::{Value, json};

/// Long enough that a query sent right after CreateVpcEndpoint's reply
/// meets the Creating state even on a loaded machine.
const LIFECYCLE_MS: u64 = 1500;
const LIMIT: Duration = Duration::from_secs(30);

/// The shared lab with the control API on, its state in `state`, and a
/// service without zone affinity.
fn lab(state: &Path) -> LabConfig {
    base_lab()
        .api(&format!(
            "listen = \"127.0.0.1:0\"\nlifecycle_ms = {LIFECYCLE_MS}"
        ))
        .access_key("lab-key", "lab-secret")
        .state(&state.display().to_string())
        .service("epsrv-noaff", "cn-hangzhou")
}

fn start(state: &Path) -> Option<(Server, Sdk)> {
    let s = Server::start(&lab(state));
    let sdk = Sdk::start(s.api())?;
    Some((s, sdk))
}

/// An endpoint of epsrv-oss in both zones, addresses chosen by epdns.
fn create_request() -> Value {
    json!({
        "RegionId": "cn-hangzhou",
        "VpcId": "vpc-lab",
        "ServiceId": "epsrv-oss",
        "SecurityGroupId": ["sg-1"],
        "Zone": [
            {"ZoneId": "cn-hangzhou-h", "VSwitchId": "vsw-h"},
            {"ZoneId": "cn-hangzhou-i", "VSwitchId": "vsw-i"},
        ],
    })
}

fn get(sdk: &mut Sdk, id: &str) -> Value {
    sdk.call(
        "GetVpcEndpointAttribute",
        json!({"RegionId": "cn-hangzhou", "EndpointId": id}),
    )
    .unwrap()
}

fn wait_active(sdk: &mut Sdk, id: &str) {
    wait_until(LIMIT, "the endpoint is Active", || {
        get(sdk, id)["EndpointStatus"] == "Active"
    });
}

fn zones(sdk: &mut Sdk, id: &str) -> Vec<Value> {
    let v = sdk
        .call(
            "ListVpcEndpointZones",
            json!({"RegionId": "cn-hangzhou", "EndpointId": id}),
        )
        .unwrap();
    v["Zones"].as_array().unwrap().clone()
}

fn groups(sdk: &mut Sdk, id: &str) -> Vec<String> {
    let v = sdk
        .call(
            "ListVpcEndpointSecurityGroups",
            json!({"RegionId": "cn-hangzhou", "EndpointId": id}),
        )
        .unwrap();
    v["SecurityGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["SecurityGroupId"].as_str().unwrap().to_string())
        .collect()
}

fn a(s: &Server, name: &str) -> Vec<String> {
    addrs(&s.udp(name, RecordType::A))
}

fn a_from(s: &Server, src: &str, name: &str) -> Vec<String> {
    let src: IpAddr = src.parse().unwrap();
    addrs(&s.udp_from(src, &query_msg(name, RecordType::A)))
}

#[test]
fn an_endpoint_created_by_the_sdk_resolves_once_active_and_follows_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let Some((s, mut sdk)) = start(dir.path()) else {
        return;
    };
    let created = sdk.call("CreateVpcEndpoint", create_request()).unwrap();
    let id = created["EndpointId"].as_str().unwrap().to_string();
    assert!(id.starts_with("ep-"), "{created}");
    assert_eq!(created["EndpointStatus"], "Creating");
    let name = endpoint(&id);
    assert_eq!(
        created["EndpointDomain"].as_str().unwrap(),
        name.trim_end_matches('.')
    );
    // Creating: not answered yet.
    assert_rcode(&s.udp(&name, RecordType::A), ResponseCode::NXDomain);
    wait_active(&mut sdk, &id);
    // The first free addresses of each vSwitch (.10, .11 and .20 are the
    // config's ENIs; .0 is reserved).
    assert_eq!(a(&s, &name), ["127.0.1.1", "127.0.2.1"]);
    let z = zones(&mut sdk, &id);
    assert_eq!(z.len(), 2);
    assert_eq!(z[0]["ZoneStatus"], "Connected");
    assert_eq!(z[0]["EniIp"], "127.0.1.1");
    let zone_h = z[0]["ZoneDomain"].as_str().unwrap().to_string();
    assert_eq!(format!("{zone_h}."), zone_domain(&id, "cn-hangzhou-h"));
    assert_eq!(a(&s, &zone_h), ["127.0.1.1"]);

    // Remove a zone: its ENI leaves the answer by the time of the reply.
    sdk.call(
        "RemoveZoneFromVpcEndpoint",
        json!({"RegionId": "cn-hangzhou", "EndpointId": id, "ZoneId": "cn-hangzhou-i"}),
    )
    .unwrap();
    assert_eq!(a(&s, &name), ["127.0.1.1"]);
    assert_rcode(
        &s.udp(&zone_domain(&id, "cn-hangzhou-i"), RecordType::A),
        ResponseCode::NXDomain,
    );
    // The last zone cannot go.
    let e = sdk
        .call(
            "RemoveZoneFromVpcEndpoint",
            json!({"RegionId": "cn-hangzhou", "EndpointId": id, "ZoneId": "cn-hangzhou-h"}),
        )
        .unwrap_err();
    assert_eq!(e.code, "IllegalParam.ZoneId", "{e:?}");
    // Add it back with a chosen address: Connecting, then answered.
    sdk.call(
        "AddZoneToVpcEndpoint",
        json!({"RegionId": "cn-hangzhou", "EndpointId": id, "ZoneId": "cn-hangzhou-i",
               "VSwitchId": "vsw-i", "ip": "127.0.2.50"}),
    )
    .unwrap();
    assert_eq!(zones(&mut sdk, &id)[1]["ZoneStatus"], "Connecting");
    wait_until(LIMIT, "the new zone is answered", || {
        a(&s, &name) == ["127.0.1.1", "127.0.2.50"]
    });
    assert_eq!(zones(&mut sdk, &id)[1]["ZoneStatus"], "Connected");

    // Zone affinity on: a client in vsw-h gets its zone's ENI only.
    let affinity = |sdk: &mut Sdk, on: bool| {
        sdk.call(
            "UpdateVpcEndpointAttribute",
            json!({"RegionId": "cn-hangzhou", "EndpointId": id, "ZoneAffinityEnabled": on}),
        )
    };
    affinity(&mut sdk, true).unwrap();
    assert_eq!(get(&mut sdk, &id)["ZoneAffinityEnabled"], true);
    assert_eq!(a_from(&s, "127.0.1.99", &name), ["127.0.1.1"]);
    assert_eq!(a_from(&s, "127.0.2.99", &name), ["127.0.2.50"]);
    affinity(&mut sdk, false).unwrap();
    assert_eq!(a_from(&s, "127.0.1.99", &name), ["127.0.1.1", "127.0.2.50"]);

    // Security groups: attach, detach, and never the last one.
    sdk.call(
        "AttachSecurityGroupToVpcEndpoint",
        json!({"RegionId": "cn-hangzhou", "EndpointId": id, "SecurityGroupId": "sg-2"}),
    )
    .unwrap();
    assert_eq!(groups(&mut sdk, &id), ["sg-1", "sg-2"]);
    let detach = |sdk: &mut Sdk, g: &str| {
        sdk.call(
            "DetachSecurityGroupFromVpcEndpoint",
            json!({"RegionId": "cn-hangzhou", "EndpointId": id, "SecurityGroupId": g}),
        )
    };
    detach(&mut sdk, "sg-1").unwrap();
    assert_eq!(groups(&mut sdk, &id), ["sg-2"]);
    let e = detach(&mut sdk, "sg-2").unwrap_err();
    assert_eq!(e.code, "OperationDenied.LastSecurityGroup", "{e:?}");

    // Delete: the names are gone by the time of the reply.
    sdk.call(
        "DeleteVpcEndpoint",
        json!({"RegionId": "cn-hangzhou", "EndpointId": id}),
    )
    .unwrap();
    assert_rcode(&s.udp(&name, RecordType::A), ResponseCode::NXDomain);
    let e = sdk
        .call(
            "GetVpcEndpointAttribute",
            json!({"RegionId": "cn-hangzhou", "EndpointId": id}),
        )
        .unwrap_err();
    assert_eq!(e.code, "EndpointNotFound");
}

#[test]
fn zone_affinity_follows_the_services_support_rules() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_s, mut sdk)) = start(dir.path()) else {
        return;
    };
    let mut req = create_request();
    req["ServiceId"] = json!("epsrv-noaff");
    req["ZoneAffinityEnabled"] = json!(true);
    let e = sdk.call("CreateVpcEndpoint", req.clone()).unwrap_err();
    assert_eq!(e.code, "IllegalParam.ZoneAffinityEnabled", "{e:?}");
    assert!(
        e.message.contains("does not support zone affinity"),
        "{e:?}"
    );
    req["ZoneAffinityEnabled"] = json!(false);
    let id = sdk.call("CreateVpcEndpoint", req).unwrap()["EndpointId"]
        .as_str()
        .unwrap()
        .to_string();
    let e = sdk
        .call(
            "UpdateVpcEndpointAttribute",
            json!({"RegionId": "cn-hangzhou", "EndpointId": id, "ZoneAffinityEnabled": true}),
        )
        .unwrap_err();
    assert_eq!(e.code, "IllegalParam.ZoneAffinityEnabled", "{e:?}");
    assert_eq!(get(&mut sdk, &id)["ZoneAffinityEnabled"], false);
}

#[test]
fn config_declared_endpoints_are_listed_and_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let Some((s, mut sdk)) = start(dir.path()) else {
        return;
    };
    let created = sdk.call("CreateVpcEndpoint", create_request()).unwrap();
    // Pages of two: the three config endpoints and the API's one.
    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        let page = sdk
            .call(
                "ListVpcEndpoints",
                json!({"RegionId": "cn-hangzhou", "MaxResults": 2, "NextToken": token}),
            )
            .unwrap();
        assert_eq!(page["TotalCount"], 4);
        for e in page["Endpoints"].as_array().unwrap() {
            ids.push(e["EndpointId"].as_str().unwrap().to_string());
        }
        token = page["NextToken"].as_str().unwrap_or_default().to_string();
        if token.is_empty() {
            break;
        }
    }
    let mut want = vec![
        "ep-lab1".to_string(),
        "ep-lab6".to_string(),
        "ep-xr1".to_string(),
        created["EndpointId"].as_str().unwrap().to_string(),
    ];
    want.sort();
    assert_eq!(ids, want);
    let e = sdk
        .call(
            "UpdateVpcEndpointAttribute",
            json!({"RegionId": "cn-hangzhou", "EndpointId": "ep-lab1", "ZoneAffinityEnabled": false}),
        )
        .unwrap_err();
    assert_eq!(e.code, "OperationDenied.ConfigDeclared");
    let e = sdk
        .call(
            "DeleteVpcEndpoint",
            json!({"RegionId": "cn-hangzhou", "EndpointId": "ep-lab1"}),
        )
        .unwrap_err();
    assert_eq!(e.code, "OperationDenied.ConfigDeclared");
    assert_eq!(a(&s, &endpoint("ep-lab1")), ["127.0.1.10", "127.0.2.10"]);
    let z = zones(&mut sdk, "ep-lab1");
    assert_eq!(z[0]["EniIp"], "127.0.1.10");
    assert_eq!(z[0]["ZoneStatus"], "Connected");
}

#[test]
fn refused_calls_carry_the_clouds_codes() {
    let dir = tempfile::tempdir().unwrap();
    let Some((s, mut sdk)) = start(dir.path()) else {
        return;
    };
    let list = json!({"RegionId": "cn-hangzhou"});
    let e = sdk
        .call_with("ListVpcEndpoints", list.clone(), json!({"secret": "wrong"}))
        .unwrap_err();
    assert_eq!((e.code.as_str(), e.status), ("SignatureDoesNotMatch", 400));
    let e = sdk
        .call_with("ListVpcEndpoints", list.clone(), json!({"key": "nobody"}))
        .unwrap_err();
    assert_eq!(
        (e.code.as_str(), e.status),
        ("InvalidAccessKeyId.NotFound", 404)
    );
    let nonce = json!({"nonce": "4d1f1c2a-replayed"});
    sdk.call_with("ListVpcEndpoints", list.clone(), nonce.clone())
        .unwrap();
    let e = sdk
        .call_with("ListVpcEndpoints", list.clone(), nonce)
        .unwrap_err();
    assert_eq!((e.code.as_str(), e.status), ("SignatureNonceUsed", 400));

    // Parameters: each refusal names the parameter, and nothing changes.
    let snapshots = s.metric("epdns_snapshots_total");
    let mut reserved = create_request();
    reserved["Zone"][1]["ip"] = json!("127.0.2.255");
    let e = sdk.call("CreateVpcEndpoint", reserved).unwrap_err();
    assert_eq!(e.code, "IllegalParam.Zone.ip", "{e:?}");
    assert!(
        e.message.contains("Zone.2.ip: 127.0.2.255 is reserved"),
        "{e:?}"
    );
    let mut taken = create_request();
    taken["Zone"][0]["ip"] = json!("127.0.1.10");
    let e = sdk.call("CreateVpcEndpoint", taken).unwrap_err();
    assert_eq!(e.code, "IllegalParam.Zone.ip", "{e:?}");
    assert!(e.message.contains("already an ENI address"), "{e:?}");
    let mut wrong_zone = create_request();
    wrong_zone["Zone"][0]["ZoneId"] = json!("cn-hangzhou-i");
    assert_eq!(
        sdk.code("CreateVpcEndpoint", wrong_zone, json!({})),
        "IllegalParam.Zone.ZoneId"
    );
    let mut no_vpc = create_request();
    no_vpc.as_object_mut().unwrap().remove("VpcId");
    assert_eq!(
        sdk.code("CreateVpcEndpoint", no_vpc, json!({})),
        "MissingVpcId"
    );
    let mut dry = create_request();
    dry["DryRun"] = json!(true);
    assert_eq!(
        sdk.code("CreateVpcEndpoint", dry, json!({})),
        "DryRunOperation"
    );
    assert_eq!(
        sdk.code(
            "GetVpcEndpointAttribute",
            json!({"RegionId": "cn-hangzhou", "EndpointId": "ep-nosuch"}),
            json!({})
        ),
        "EndpointNotFound"
    );
    let listed = sdk.call("ListVpcEndpoints", list).unwrap();
    assert_eq!(listed["TotalCount"], 3, "nothing was created: {listed}");
    assert_eq!(s.metric("epdns_snapshots_total"), snapshots);
}

#[test]
fn a_client_token_makes_create_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_s, mut sdk)) = start(dir.path()) else {
        return;
    };
    let mut req = create_request();
    req["ClientToken"] = json!("run-42 once");
    let first = sdk.call("CreateVpcEndpoint", req.clone()).unwrap();
    let again = sdk.call("CreateVpcEndpoint", req).unwrap();
    assert_eq!(first["EndpointId"], again["EndpointId"]);
    let listed = sdk
        .call("ListVpcEndpoints", json!({"RegionId": "cn-hangzhou"}))
        .unwrap();
    assert_eq!(listed["TotalCount"], 4);
}

#[test]
fn rpc_style_calls_in_a_query_or_a_form_body_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let Some((s, mut sdk)) = start(dir.path()) else {
        return;
    };
    let created = sdk
        .call_with(
            "CreateVpcEndpoint",
            create_request(),
            json!({"rpc": "POST"}),
        )
        .unwrap();
    let id = created["EndpointId"].as_str().unwrap().to_string();
    let got = sdk
        .call_with(
            "GetVpcEndpointAttribute",
            json!({"RegionId": "cn-hangzhou", "EndpointId": id}),
            json!({"rpc": "GET"}),
        )
        .unwrap();
    assert_eq!(got["EndpointId"], id.as_str());
    wait_active(&mut sdk, &id);
    assert_eq!(a(&s, &endpoint(&id)), ["127.0.1.1", "127.0.2.1"]);
    let e = sdk
        .call_with(
            "ListVpcEndpoints",
            json!({"RegionId": "cn-hangzhou"}),
            json!({"rpc": "GET", "secret": "wrong"}),
        )
        .unwrap_err();
    assert_eq!(e.code, "SignatureDoesNotMatch");
}

#[test]
fn acknowledged_changes_survive_kill_9_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let Some((mut s, mut sdk)) = start(dir.path()) else {
        return;
    };
    let active = sdk.call("CreateVpcEndpoint", create_request()).unwrap()["EndpointId"]
        .as_str()
        .unwrap()
        .to_string();
    wait_active(&mut sdk, &active);
    // A second one, killed while it is still Creating.
    let mut req = create_request();
    req["Zone"] = json!([{"ZoneId": "cn-hangzhou-h", "VSwitchId": "vsw-h", "ip": "127.0.1.60"}]);
    let creating = sdk.call("CreateVpcEndpoint", req).unwrap()["EndpointId"]
        .as_str()
        .unwrap()
        .to_string();
    s.kill();
    drop(sdk);

    let s = Server::start(&lab(dir.path()));
    let Some(mut sdk) = Sdk::start(s.api()) else {
        return;
    };
    assert_eq!(a(&s, &endpoint(&active)), ["127.0.1.1", "127.0.2.1"]);
    assert_eq!(get(&mut sdk, &active)["EndpointStatus"], "Active");
    wait_active(&mut sdk, &creating);
    assert_eq!(a(&s, &endpoint(&creating)), ["127.0.1.60"]);
}

#[test]
fn a_reload_keeps_the_apis_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let Some((s, mut sdk)) = start(dir.path()) else {
        return;
    };
    let id = sdk.call("CreateVpcEndpoint", create_request()).unwrap()["EndpointId"]
        .as_str()
        .unwrap()
        .to_string();
    wait_active(&mut sdk, &id);
    let changed = lab(dir.path()).eni("ep-lab1", "vsw-i", "127.0.2.99");
    assert_eq!(s.reload(&changed), Reload::Ok);
    assert_eq!(a(&s, &endpoint("ep-lab1")), ["127.0.1.10", "127.0.2.99"]);
    assert_eq!(a(&s, &endpoint(&id)), ["127.0.1.1", "127.0.2.1"]);
    // A config that takes an address the API gave out is refused, and the
    // endpoint keeps answering.
    let clash = lab(dir.path()).eni("ep-lab1", "vsw-i", "127.0.2.1");
    assert_eq!(s.reload(&clash), Reload::Rejected);
    assert_eq!(a(&s, &endpoint(&id)), ["127.0.1.1", "127.0.2.1"]);
}
