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
/// service without zone affinity. Its `listen` is one the harness's
/// `--listen` replaces, so that the name server's address in an answer
/// tells which of the two the tables were built with.
fn lab(state: &Path) -> LabConfig {
    lab_with_keys(state, &[("lab-key", "lab-secret")])
}

/// `lab` with these access keys instead of lab-key alone.
fn lab_with_keys(state: &Path, keys: &[(&str, &str)]) -> LabConfig {
    let mut cfg = base_lab()
        .server(r#"listen = ["127.0.0.53:5300"]"#)
        .api(&format!(
            "listen = \"127.0.0.1:0\"\nlifecycle_ms = {LIFECYCLE_MS}"
        ));
    for (id, secret) in keys {
        cfg = cfg.access_key(id, secret);
    }
    cfg.state(&state.display().to_string())
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

/// Creates the endpoint of `create_request` and returns its id.
fn create(sdk: &mut Sdk) -> String {
    sdk.call("CreateVpcEndpoint", create_request()).unwrap()["EndpointId"]
        .as_str()
        .unwrap()
        .to_string()
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
    // Tables built for API changes still name the addresses served.
    assert_eq!(a(&s, &format!("ns.{SUFFIX}.")), [s.addr.ip().to_string()]);
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
    // The config's services, as an end user lists them.
    let services = sdk
        .call(
            "ListVpcEndpointServicesByEndUser",
            json!({"RegionId": "cn-hangzhou", "ServiceRegionId": "cn-hangzhou"}),
        )
        .unwrap();
    assert_eq!(services["TotalCount"], 2, "{services}");
    let oss = &services["Services"][0];
    assert_eq!(oss["ServiceId"], "epsrv-oss");
    assert_eq!(
        oss["ServiceName"],
        "com.aliyuncs.privatelink.cn-hangzhou.epsrv-oss"
    );
    assert_eq!(oss["ZoneAffinityEnabled"], true);
    assert_eq!(oss["ServiceSupportIPv6"], true);
    assert_eq!(oss["Zones"], json!(["cn-hangzhou-h", "cn-hangzhou-i"]));
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
fn concurrent_calls_on_one_endpoint_are_serialized() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_s, mut sdk)) = start(dir.path()) else {
        return;
    };
    let id = create(&mut sdk);
    // Eight attachments at once: each read-modify-write sees the one
    // before it, so none is lost.
    let calls: Vec<(&str, Value)> = (2..10)
        .map(|n| {
            (
                "AttachSecurityGroupToVpcEndpoint",
                json!({"RegionId": "cn-hangzhou", "EndpointId": id, "SecurityGroupId": format!("sg-{n}")}),
            )
        })
        .collect();
    for r in sdk.parallel(&calls) {
        r.unwrap();
    }
    let mut got = groups(&mut sdk, &id);
    got.sort();
    let want: Vec<String> = (1..10).map(|n| format!("sg-{n}")).collect();
    assert_eq!(got, want);
    // Two creates at once asking epdns for addresses get different ones.
    let both = sdk.parallel(&[
        ("CreateVpcEndpoint", create_request()),
        ("CreateVpcEndpoint", create_request()),
    ]);
    let ids: Vec<String> = both
        .into_iter()
        .map(|r| r.unwrap()["EndpointId"].as_str().unwrap().to_string())
        .collect();
    let ips: Vec<Value> = ids
        .iter()
        .map(|i| zones(&mut sdk, i)[0]["EniIp"].clone())
        .collect();
    assert_ne!(ips[0], ips[1]);
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
    let active = create(&mut sdk);
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
    let id = create(&mut sdk);
    wait_active(&mut sdk, &id);
    let zone = sdk
        .pvtz("AddZone", json!({"ZoneName": "kept.lab"}))
        .unwrap()["ZoneId"]
        .as_str()
        .unwrap()
        .to_string();
    sdk.pvtz(
        "BindZoneVpc",
        json!({"ZoneId": zone, "Vpcs": [{"VpcId": "vpc-lab"}]}),
    )
    .unwrap();
    sdk.pvtz(
        "AddZoneRecord",
        json!({"ZoneId": zone, "Rr": "www", "Type": "A", "Value": "127.0.7.7"}),
    )
    .unwrap();
    let changed = lab(dir.path()).eni("ep-lab1", "vsw-i", "127.0.2.99");
    assert_eq!(s.reload(&changed), Reload::Ok);
    assert_eq!(a(&s, &endpoint("ep-lab1")), ["127.0.1.10", "127.0.2.99"]);
    assert_eq!(a(&s, &endpoint(&id)), ["127.0.1.1", "127.0.2.1"]);
    assert_eq!(ask(&s, "www.kept.lab.", RecordType::A).1, ["127.0.7.7"]);
    // A config that takes an address the API gave out is refused, and the
    // endpoint keeps answering.
    let clash = lab(dir.path()).eni("ep-lab1", "vsw-i", "127.0.2.1");
    assert_eq!(s.reload(&clash), Reload::Rejected);
    assert_eq!(a(&s, &endpoint(&id)), ["127.0.1.1", "127.0.2.1"]);
    // So is one that takes the address of an endpoint still Creating.
    let mut req = create_request();
    req["Zone"] = json!([{"ZoneId": "cn-hangzhou-h", "VSwitchId": "vsw-h", "ip": "127.0.1.60"}]);
    let creating = sdk.call("CreateVpcEndpoint", req).unwrap()["EndpointId"]
        .as_str()
        .unwrap()
        .to_string();
    let clash = lab(dir.path()).eni("ep-lab1", "vsw-h", "127.0.1.60");
    assert_eq!(s.reload(&clash), Reload::Rejected);
    wait_active(&mut sdk, &creating);
    assert_eq!(a(&s, &endpoint(&creating)), ["127.0.1.60"]);
}

/// Answers to a client of vpc-lab (127.0.1.99): (rcode, A addresses,
/// record types of the answer section).
fn ask(s: &Server, name: &str, qtype: RecordType) -> (ResponseCode, Vec<String>, Vec<RecordType>) {
    let m = s.udp_from("127.0.1.99".parse().unwrap(), &query_msg(name, qtype));
    let types = m.answers.iter().map(|r| r.record_type()).collect();
    (m.metadata.response_code, addrs(&m), types)
}

#[test]
fn a_private_zone_made_by_the_sdk_reaches_an_endpoint_from_its_vpc() {
    let dir = tempfile::tempdir().unwrap();
    let Some((s, mut sdk)) = start(dir.path()) else {
        return;
    };
    let ep = sdk.call("CreateVpcEndpoint", create_request()).unwrap();
    let ep_id = ep["EndpointId"].as_str().unwrap().to_string();
    let ep_domain = ep["EndpointDomain"].as_str().unwrap().to_string();
    wait_active(&mut sdk, &ep_id);

    // The seed's recipe: a zone named after the service's domain, bound to
    // the VPC, its apex a CNAME to the endpoint domain.
    let zone = sdk
        .pvtz("AddZone", json!({"ZoneName": "oss.corp.lab"}))
        .unwrap();
    let zone_id = zone["ZoneId"].as_str().unwrap().to_string();
    assert_eq!(zone["ZoneName"], "oss.corp.lab");
    sdk.pvtz(
        "BindZoneVpc",
        json!({"ZoneId": zone_id, "Vpcs": [{"VpcId": "vpc-lab", "RegionId": "cn-hangzhou"}]}),
    )
    .unwrap();
    sdk.pvtz(
        "AddZoneRecord",
        json!({"ZoneId": zone_id, "Rr": "@", "Type": "CNAME", "Value": format!("{ep_domain}."), "Ttl": 60}),
    )
    .unwrap();
    let (rcode, a, types) = ask(&s, "oss.corp.lab.", RecordType::A);
    assert_eq!(rcode, ResponseCode::NoError);
    assert_eq!(a, ["127.0.1.1", "127.0.2.1"]);
    assert_eq!(types[0], RecordType::CNAME);
    // The zone's own SOA and NS, beside the apex CNAME.
    assert_eq!(
        ask(&s, "oss.corp.lab.", RecordType::SOA).2,
        [RecordType::SOA]
    );
    assert_eq!(ask(&s, "oss.corp.lab.", RecordType::NS).2, [RecordType::NS]);
    // Not to clients outside the VPC.
    let outside = s.udp_from(
        "127.9.0.1".parse().unwrap(),
        &query_msg("oss.corp.lab.", RecordType::A),
    );
    assert_rcode(&outside, ResponseCode::Refused);
    // A CNAME stands alone.
    let e = sdk
        .pvtz(
            "AddZoneRecord",
            json!({"ZoneId": zone_id, "Rr": "@", "Type": "A", "Value": "127.0.5.5"}),
        )
        .unwrap_err();
    assert_eq!(e.code, "Record.Conflict", "{e:?}");

    // A record: added, updated, disabled, enabled, deleted; DNS follows.
    let added = sdk
        .pvtz(
            "AddZoneRecord",
            json!({"ZoneId": zone_id, "Rr": "www", "Type": "A", "Value": "127.0.5.5"}),
        )
        .unwrap();
    let record = added["RecordId"].as_u64().unwrap();
    assert_eq!(ask(&s, "www.oss.corp.lab.", RecordType::A).1, ["127.0.5.5"]);
    sdk.pvtz(
        "UpdateZoneRecord",
        json!({"RecordId": record, "Rr": "www", "Type": "A", "Value": "127.0.5.6"}),
    )
    .unwrap();
    assert_eq!(ask(&s, "www.oss.corp.lab.", RecordType::A).1, ["127.0.5.6"]);
    let status = |sdk: &mut Sdk, st: &str| {
        sdk.pvtz(
            "SetZoneRecordStatus",
            json!({"RecordId": record, "Status": st}),
        )
        .unwrap()
    };
    assert_eq!(status(&mut sdk, "DISABLE")["Status"], "DISABLE");
    assert_eq!(
        ask(&s, "www.oss.corp.lab.", RecordType::A).0,
        ResponseCode::NXDomain
    );
    status(&mut sdk, "ENABLE");
    assert_eq!(ask(&s, "www.oss.corp.lab.", RecordType::A).1, ["127.0.5.6"]);
    let listed = sdk
        .pvtz("DescribeZoneRecords", json!({"ZoneId": zone_id}))
        .unwrap();
    assert_eq!(listed["TotalItems"], 2);
    let www = &listed["Records"]["Record"][1];
    assert_eq!(
        (
            www["Rr"].as_str(),
            www["Value"].as_str(),
            www["Status"].as_str()
        ),
        (Some("www"), Some("127.0.5.6"), Some("ENABLE"))
    );
    sdk.pvtz("DeleteZoneRecord", json!({"RecordId": record}))
        .unwrap();
    assert_eq!(
        ask(&s, "www.oss.corp.lab.", RecordType::A).0,
        ResponseCode::NXDomain
    );
    let e = sdk
        .pvtz(
            "AddZoneRecord",
            json!({"ZoneId": zone_id, "Rr": "mail", "Type": "A", "Value": "not-an-address"}),
        )
        .unwrap_err();
    assert_eq!(e.code, "IllegalParam.Value", "{e:?}");

    let zones = sdk.pvtz("DescribeZones", json!({})).unwrap();
    assert_eq!(zones["TotalItems"], 1);
    assert_eq!(zones["Zones"]["Zone"][0]["ZoneId"], zone_id.as_str());
    let info = sdk
        .pvtz("DescribeZoneInfo", json!({"ZoneId": zone_id}))
        .unwrap();
    assert_eq!(info["BindVpcs"]["Vpc"][0]["VpcId"], "vpc-lab");
    assert_eq!(info["RecordCount"], 1);

    // The zone survives a restart too.
    drop(sdk);
    let mut s = s;
    s.kill();
    let s = Server::start(&lab(dir.path()));
    assert_eq!(
        ask(&s, "oss.corp.lab.", RecordType::A).1,
        ["127.0.1.1", "127.0.2.1"]
    );
    let Some(mut sdk) = Sdk::start(s.api()) else {
        return;
    };
    sdk.pvtz("DeleteZone", json!({"ZoneId": zone_id})).unwrap();
    assert_eq!(
        ask(&s, "oss.corp.lab.", RecordType::A).0,
        ResponseCode::Refused
    );
    let e = sdk
        .pvtz("DescribeZoneInfo", json!({"ZoneId": zone_id}))
        .unwrap_err();
    assert_eq!(e.code, "Zone.NotExists");
}

fn corp_zone(www: &str) -> String {
    format!(
        "$TTL 60\n@ IN SOA ns.corp.lab. hostmaster.corp.lab. 1 3600 600 86400 30\n\
         @ IN NS ns.corp.lab.\nns IN A 127.0.8.53\nwww IN A {www}\n"
    )
}

#[test]
fn calls_serve_the_zone_files_as_loaded_until_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let config = |www: &str| {
        lab(dir.path()).private_zone("corp.lab", &["vpc-lab"], "corp.lab.zone", &corp_zone(www))
    };
    let s = Server::start(&config("127.0.8.1"));
    let Some(mut sdk) = Sdk::start(s.api()) else {
        return;
    };
    // The file changes on disk; no SIGHUP.
    let file = s.ready_file().parent().unwrap().join("corp.lab.zone");
    std::fs::write(&file, corp_zone("127.0.8.2")).unwrap();
    let id = create(&mut sdk);
    wait_active(&mut sdk, &id);
    assert_eq!(a(&s, &endpoint(&id)), ["127.0.1.1", "127.0.2.1"]);
    assert_eq!(ask(&s, "www.corp.lab.", RecordType::A).1, ["127.0.8.1"]);
    // SIGHUP reads it.
    assert_eq!(s.reload(&config("127.0.8.2")), Reload::Ok);
    assert_eq!(ask(&s, "www.corp.lab.", RecordType::A).1, ["127.0.8.2"]);
    assert_eq!(a(&s, &endpoint(&id)), ["127.0.1.1", "127.0.2.1"]);
}

/// `lab` with a vSwitch without IPv6 (zone j) and a service with a custom
/// domain.
fn wide_lab(state: &Path) -> LabConfig {
    lab(state)
        .vswitch("vsw-j", "vpc-lab", "cn-hangzhou-j", "127.0.3.0/24")
        .service("epsrv-cd", "cn-hangzhou")
        .with(r#"custom_domain = "files.corp.example""#)
}

fn start_wide(state: &Path) -> Option<(Server, Sdk)> {
    let s = Server::start(&wide_lab(state));
    let sdk = Sdk::start(s.api())?;
    Some((s, sdk))
}

fn list_ids(sdk: &mut Sdk, filter: Value) -> Vec<String> {
    let mut req = json!({"RegionId": "cn-hangzhou"});
    for (k, v) in filter.as_object().unwrap() {
        req[k] = v.clone();
    }
    let v = sdk.call("ListVpcEndpoints", req).unwrap();
    v["Endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["EndpointId"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn dual_stack_and_reverse_endpoints_follow_the_configs_rules() {
    let dir = tempfile::tempdir().unwrap();
    let Some((s, mut sdk)) = start_wide(dir.path()) else {
        return;
    };
    // Dual stack without addresses: a free IPv6 address of each vSwitch
    // (fd00:1::11 and fd00:2::11 are ep-lab6's; ::0 is reserved).
    let mut req = create_request();
    req["AddressIpVersion"] = json!("DualStack");
    let id = sdk.call("CreateVpcEndpoint", req.clone()).unwrap()["EndpointId"]
        .as_str()
        .unwrap()
        .to_string();
    wait_active(&mut sdk, &id);
    assert_eq!(get(&mut sdk, &id)["AddressIpVersion"], "DualStack");
    let z = zones(&mut sdk, &id);
    assert_eq!(z[0]["ZoneIpv6Address"], "fd00:1::1");
    assert_eq!(z[1]["ZoneIpv6Address"], "fd00:2::1");
    assert_eq!(
        addrs(&s.udp(&endpoint(&id), RecordType::AAAA)),
        ["fd00:1::1", "fd00:2::1"]
    );
    assert_eq!(a(&s, &endpoint(&id)), ["127.0.1.1", "127.0.2.1"]);
    // A chosen IPv6 address, checked like the config's.
    let mut chosen = req.clone();
    chosen["Zone"] = json!([{"ZoneId": "cn-hangzhou-h", "VSwitchId": "vsw-h",
                             "Ipv6Address": "fd00:1::77"}]);
    let id6 = sdk.call("CreateVpcEndpoint", chosen.clone()).unwrap()["EndpointId"]
        .as_str()
        .unwrap()
        .to_string();
    wait_active(&mut sdk, &id6);
    assert_eq!(
        addrs(&s.udp(&endpoint(&id6), RecordType::AAAA)),
        ["fd00:1::77"]
    );
    chosen["Zone"][0]["Ipv6Address"] = json!("fd00:2::5");
    let e = sdk.call("CreateVpcEndpoint", chosen.clone()).unwrap_err();
    assert_eq!(e.code, "IllegalParam.Zone.Ipv6Address", "{e:?}");
    assert!(e.message.contains("outside vSwitch 'vsw-h'"), "{e:?}");
    // Every zone's vSwitch needs IPv6.
    let mut no_v6 = req.clone();
    no_v6["Zone"] = json!([{"ZoneId": "cn-hangzhou-j", "VSwitchId": "vsw-j"}]);
    let e = sdk.call("CreateVpcEndpoint", no_v6).unwrap_err();
    assert_eq!(e.code, "IllegalParam.Zone.Ipv6Address", "{e:?}");
    assert!(e.message.contains("needs an IPv6 address"), "{e:?}");
    // The service must support it.
    let mut unsupported = req.clone();
    unsupported["ServiceId"] = json!("epsrv-noaff");
    let e = sdk.call("CreateVpcEndpoint", unsupported).unwrap_err();
    assert_eq!(e.code, "IllegalParam.AddressIpVersion", "{e:?}");
    assert!(e.message.contains("does not support IPv6"), "{e:?}");

    // Reverse: IPv4 only, the same names.
    let mut reverse = req.clone();
    reverse["EndpointType"] = json!("Reverse");
    let e = sdk.call("CreateVpcEndpoint", reverse.clone()).unwrap_err();
    assert_eq!(e.code, "IllegalParam.AddressIpVersion", "{e:?}");
    assert!(e.message.contains("reverse endpoint is IPv4 only"), "{e:?}");
    reverse["AddressIpVersion"] = json!("IPv4");
    reverse["Zone"] = json!([{"ZoneId": "cn-hangzhou-j", "VSwitchId": "vsw-j"}]);
    let rid = sdk.call("CreateVpcEndpoint", reverse).unwrap()["EndpointId"]
        .as_str()
        .unwrap()
        .to_string();
    wait_active(&mut sdk, &rid);
    assert_eq!(get(&mut sdk, &rid)["EndpointType"], "Reverse");
    assert_eq!(a(&s, &endpoint(&rid)), ["127.0.3.1"]);
    assert_eq!(
        list_ids(&mut sdk, json!({"EndpointType": "Reverse"})),
        [rid]
    );
    let mut bad = create_request();
    bad["EndpointType"] = json!("Gateway");
    let e = sdk.call("CreateVpcEndpoint", bad).unwrap_err();
    assert_eq!(e.code, "IllegalParam.EndpointType", "{e:?}");
}

#[test]
fn tags_are_kept_listed_and_filtered_as_the_cloud_does() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_s, mut sdk)) = start(dir.path()) else {
        return;
    };
    let mut req = create_request();
    req["Tag"] = json!([{"Key": "env", "Value": "lab"}, {"Key": "owner", "Value": "dns"}]);
    let tagged = sdk.call("CreateVpcEndpoint", req).unwrap()["EndpointId"]
        .as_str()
        .unwrap()
        .to_string();
    let plain = create(&mut sdk);
    let listed = sdk
        .call(
            "ListVpcEndpoints",
            json!({"RegionId": "cn-hangzhou", "EndpointId": tagged}),
        )
        .unwrap();
    assert_eq!(
        listed["Endpoints"][0]["Tags"],
        json!([{"Key": "env", "Value": "lab"}, {"Key": "owner", "Value": "dns"}])
    );
    // The filter: every Tag.N must match, a value only when given.
    let by = |tags: Value| json!({ "Tag": tags });
    let mut sdk_ids = |tags: Value| list_ids(&mut sdk, by(tags));
    assert_eq!(
        sdk_ids(json!([{"Key": "env", "Value": "lab"}])),
        [tagged.as_str()]
    );
    assert_eq!(sdk_ids(json!([{"Key": "env"}])), [tagged.as_str()]);
    assert!(sdk_ids(json!([{"Key": "env", "Value": "prod"}])).is_empty());
    assert!(sdk_ids(json!([{"Key": "env"}, {"Key": "team"}])).is_empty());

    // TagResources / UntagResources / ListTagResources.
    let resource = |ids: &[&str]| json!({"RegionId": "cn-hangzhou", "ResourceType": "VpcEndpoint", "ResourceId": ids});
    let mut tag = resource(&[&tagged, &plain]);
    tag["Tag"] = json!([{"Key": "team", "Value": "net"}, {"Key": "env", "Value": "test"}]);
    sdk.call("TagResources", tag).unwrap();
    let pairs = |sdk: &mut Sdk, req: Value| -> Vec<(String, String, String)> {
        let v = sdk.call("ListTagResources", req).unwrap();
        v["TagResources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                assert_eq!(t["ResourceType"], "VpcEndpoint");
                let s = |k: &str| t[k].as_str().unwrap().to_string();
                (s("ResourceId"), s("TagKey"), s("TagValue"))
            })
            .collect()
    };
    let p = |id: &str, k: &str, v: &str| (id.to_string(), k.to_string(), v.to_string());
    assert_eq!(
        pairs(&mut sdk, resource(&[&tagged])),
        [
            p(&tagged, "env", "test"),
            p(&tagged, "owner", "dns"),
            p(&tagged, "team", "net")
        ]
    );
    let mut untag = resource(&[&tagged]);
    untag["TagKey"] = json!(["env", "team"]);
    sdk.call("UntagResources", untag).unwrap();
    assert_eq!(
        pairs(&mut sdk, resource(&[&tagged])),
        [p(&tagged, "owner", "dns")]
    );
    let mut by_tag = json!({"RegionId": "cn-hangzhou", "ResourceType": "VpcEndpoint"});
    by_tag["Tag"] = json!([{"Key": "team"}]);
    // Every tag of each endpoint that carries the filter's.
    assert_eq!(
        pairs(&mut sdk, by_tag),
        [p(&plain, "team", "net"), p(&plain, "env", "test")]
    );
    let mut all = resource(&[&plain]);
    all["All"] = json!(true);
    sdk.call("UntagResources", all).unwrap();
    assert!(pairs(&mut sdk, resource(&[&plain])).is_empty());

    // Refusals.
    let mut reserved = resource(&[&tagged]);
    reserved["Tag"] = json!([{"Key": "aliyun:x", "Value": "1"}]);
    assert_eq!(
        sdk.call("TagResources", reserved).unwrap_err().code,
        "IllegalParam.Tag.Key"
    );
    let mut config = resource(&["ep-lab1"]);
    config["Tag"] = json!([{"Key": "k", "Value": "v"}]);
    assert_eq!(
        sdk.call("TagResources", config).unwrap_err().code,
        "OperationDenied.ConfigDeclared"
    );
    let mut other = resource(&[&tagged]);
    other["ResourceType"] = json!("VpcEndpointService");
    other["Tag"] = json!([{"Key": "k", "Value": "v"}]);
    assert_eq!(
        sdk.call("TagResources", other).unwrap_err().code,
        "IllegalParam.ResourceType"
    );
    let mut many = create_request();
    many["Tag"] = json!(
        (0..21)
            .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        sdk.call("CreateVpcEndpoint", many).unwrap_err().code,
        "QuotaExceeded.TagNum"
    );
}

#[test]
fn a_policy_document_is_kept_when_it_is_a_json_object() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_s, mut sdk)) = start(dir.path()) else {
        return;
    };
    let policy = r#"{"Version":"1","Statement":[{"Effect":"Allow","Action":["oss:*"],"Principal":"*","Resource":["*"]}]}"#;
    let mut req = create_request();
    req["PolicyDocument"] = json!(policy);
    let id = sdk.call("CreateVpcEndpoint", req.clone()).unwrap()["EndpointId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(get(&mut sdk, &id)["PolicyDocument"], policy);
    for bad in [
        r#"{"Version": "1", "Statement": ["#,
        r#"["not", "an object"]"#,
    ] {
        req["PolicyDocument"] = json!(bad);
        let e = sdk.call("CreateVpcEndpoint", req.clone()).unwrap_err();
        assert_eq!(e.code, "IllegalParam.PolicyDocument", "{bad}: {e:?}");
        let e = sdk
            .call(
                "UpdateVpcEndpointAttribute",
                json!({"RegionId": "cn-hangzhou", "EndpointId": id, "PolicyDocument": bad}),
            )
            .unwrap_err();
        assert_eq!(e.code, "IllegalParam.PolicyDocument", "{bad}: {e:?}");
    }
    assert_eq!(get(&mut sdk, &id)["PolicyDocument"], policy);
    sdk.call(
        "UpdateVpcEndpointAttribute",
        json!({"RegionId": "cn-hangzhou", "EndpointId": id, "ResetPolicy": true}),
    )
    .unwrap();
    assert!(
        get(&mut sdk, &id)
            .get("PolicyDocument")
            .is_none_or(Value::is_null)
    );
}

#[test]
fn the_first_endpoint_of_a_vpc_answers_its_services_custom_domain() {
    let dir = tempfile::tempdir().unwrap();
    let Some((s, mut sdk)) = start_wide(dir.path()) else {
        return;
    };
    let custom = "files.corp.example.";
    let mut req = create_request();
    req["ServiceId"] = json!("epsrv-cd");
    req["Zone"] = json!([{"ZoneId": "cn-hangzhou-h", "VSwitchId": "vsw-h"}]);
    let first = sdk.call("CreateVpcEndpoint", req.clone()).unwrap()["EndpointId"]
        .as_str()
        .unwrap()
        .to_string();
    wait_active(&mut sdk, &first);
    assert_eq!(a(&s, custom), ["127.0.1.1"]);
    // Outside the VPC: not answered with the VPC's ENIs.
    assert!(a_from(&s, "127.1.0.9", custom).is_empty());
    // A second endpoint of the same VPC: its own names, not the custom
    // domain (the first keeps it).
    req["Zone"] = json!([{"ZoneId": "cn-hangzhou-i", "VSwitchId": "vsw-i"}]);
    let second = sdk.call("CreateVpcEndpoint", req).unwrap()["EndpointId"]
        .as_str()
        .unwrap()
        .to_string();
    wait_active(&mut sdk, &second);
    let domain = get(&mut sdk, &second)["EndpointDomain"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(a(&s, &domain), ["127.0.2.1"]);
    assert_eq!(a(&s, custom), ["127.0.1.1"]);
    // Deleted: the custom domain goes with it.
    sdk.call(
        "DeleteVpcEndpoint",
        json!({"RegionId": "cn-hangzhou", "EndpointId": first}),
    )
    .unwrap();
    assert!(a(&s, custom).is_empty());
}

#[test]
fn privatezone_style_zone_files_behave_as_api_zones_and_are_listed_read_only() {
    let dir = tempfile::tempdir().unwrap();
    // No SOA, no NS, a CNAME at the apex: the cloud's recipe in a file.
    let zone = format!(
        "$TTL 60\n@ IN CNAME {}\nwww IN A 127.0.5.5\nmail IN MX 10 www\n",
        endpoint("ep-lab1")
    );
    let cfg = lab(dir.path())
        .private_zone("files.corp.example", &["vpc-lab"], "files.zone", &zone)
        .with(r#"style = "privatezone""#);
    let s = Server::start(&cfg);
    let (rcode, a, types) = ask(&s, "files.corp.example.", RecordType::A);
    assert_eq!(rcode, ResponseCode::NoError);
    assert_eq!(a, ["127.0.1.10", "127.0.2.10"]);
    assert_eq!(types[0], RecordType::CNAME);
    // The CNAME answers every type but SOA and NS, which are synthesized.
    assert_eq!(
        ask(&s, "files.corp.example.", RecordType::TXT).2,
        [RecordType::CNAME]
    );
    let soa = s.udp_from(
        "127.0.1.99".parse().unwrap(),
        &query_msg("files.corp.example.", RecordType::SOA),
    );
    assert_eq!(soa.answers.len(), 1, "{soa:?}");
    match &soa.answers[0].data {
        hickory_proto::rr::RData::SOA(soa) => {
            assert_eq!(soa.mname.to_string(), format!("ns.{SUFFIX}."));
            assert_eq!(soa.rname.to_string(), format!("hostmaster.{SUFFIX}."));
        }
        other => panic!("not an SOA: {other:?}"),
    }
    assert_eq!(
        ask(&s, "files.corp.example.", RecordType::NS).2,
        [RecordType::NS]
    );
    assert_eq!(
        ask(&s, "www.files.corp.example.", RecordType::A).1,
        ["127.0.5.5"]
    );

    // Listed by the PrivateZone API, read only.
    let Some(mut sdk) = Sdk::start(s.api()) else {
        return;
    };
    let zones = sdk.pvtz("DescribeZones", json!({})).unwrap();
    assert_eq!(zones["TotalItems"], 1, "{zones}");
    let listed = &zones["Zones"]["Zone"][0];
    assert_eq!(listed["ZoneName"], "files.corp.example");
    assert_eq!(listed["RecordCount"], 3);
    let id = listed["ZoneId"].as_str().unwrap().to_string();
    let info = sdk.pvtz("DescribeZoneInfo", json!({"ZoneId": id})).unwrap();
    assert_eq!(info["BindVpcs"]["Vpc"][0]["VpcId"], "vpc-lab");
    let records = sdk
        .pvtz("DescribeZoneRecords", json!({"ZoneId": id}))
        .unwrap();
    let rows: Vec<(String, String, String)> = records["Records"]["Record"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let s = |k: &str| r[k].as_str().unwrap().to_string();
            (s("Rr"), s("Type"), s("Value"))
        })
        .collect();
    let row = |rr: &str, t: &str, v: &str| (rr.to_string(), t.to_string(), v.to_string());
    assert_eq!(
        rows,
        [
            row("@", "CNAME", &endpoint("ep-lab1")),
            row("mail", "MX", "www.files.corp.example."),
            row("www", "A", "127.0.5.5"),
        ]
    );
    assert_eq!(records["Records"]["Record"][1]["Priority"], 10);
    let record = records["Records"]["Record"][2]["RecordId"]
        .as_u64()
        .unwrap();
    let refused = [
        (
            "AddZoneRecord",
            json!({"ZoneId": id, "Rr": "x", "Type": "A", "Value": "127.0.5.6"}),
        ),
        (
            "BindZoneVpc",
            json!({"ZoneId": id, "Vpcs": [{"VpcId": "vpc-lab"}]}),
        ),
        ("DeleteZone", json!({"ZoneId": id})),
        ("DeleteZoneRecord", json!({"RecordId": record})),
        (
            "UpdateZoneRecord",
            json!({"RecordId": record, "Rr": "www", "Type": "A", "Value": "127.0.5.6"}),
        ),
        (
            "SetZoneRecordStatus",
            json!({"RecordId": record, "Status": "DISABLE"}),
        ),
    ];
    for (action, req) in refused {
        let e = sdk.pvtz(action, req).unwrap_err();
        assert_eq!(e.code, "OperationDenied.ConfigDeclared", "{action}: {e:?}");
    }
    assert_eq!(
        ask(&s, "www.files.corp.example.", RecordType::A).1,
        ["127.0.5.5"]
    );
    let e = sdk
        .pvtz("DescribeZoneInfo", json!({"ZoneId": "config-7"}))
        .unwrap_err();
    assert_eq!(e.code, "Zone.NotExists");
}

#[test]
fn access_keys_follow_the_config_on_reload() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [("lab-key", "lab-secret"), ("old-key", "old-secret")];
    let s = Server::start(&lab_with_keys(dir.path(), &keys));
    let Some(mut sdk) = Sdk::start(s.api()) else {
        return;
    };
    let list = json!({"RegionId": "cn-hangzhou"});
    let with = |sdk: &mut Sdk, key: &str, secret: &str| {
        sdk.call_with(
            "ListVpcEndpoints",
            list.clone(),
            json!({"key": key, "secret": secret}),
        )
    };
    with(&mut sdk, "old-key", "old-secret").unwrap();
    let e = with(&mut sdk, "new-key", "new-secret").unwrap_err();
    assert_eq!(e.code, "InvalidAccessKeyId.NotFound");
    // old-key leaves the config, new-key joins it, lab-key's secret changes.
    let keys = [("lab-key", "lab-secret-2"), ("new-key", "new-secret")];
    assert_eq!(s.reload(&lab_with_keys(dir.path(), &keys)), Reload::Ok);
    let e = with(&mut sdk, "old-key", "old-secret").unwrap_err();
    assert_eq!(e.code, "InvalidAccessKeyId.NotFound", "{e:?}");
    with(&mut sdk, "new-key", "new-secret").unwrap();
    let e = with(&mut sdk, "lab-key", "lab-secret").unwrap_err();
    assert_eq!(e.code, "SignatureDoesNotMatch", "{e:?}");
    with(&mut sdk, "lab-key", "lab-secret-2").unwrap();
    // A rejected reload keeps the keys in force.
    assert_eq!(s.reload_text("not toml ["), Reload::Rejected);
    with(&mut sdk, "new-key", "new-secret").unwrap();
}

/// A port free on `ip` for both UDP and TCP, as the kernel picks it.
fn free_port(ip: &str) -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind((ip, 0)).unwrap();
        let port = udp.local_addr().unwrap().port();
        if std::net::TcpListener::bind((ip, port)).is_ok() {
            return port;
        }
    }
}

#[test]
fn an_inbound_resolver_endpoint_answers_as_for_its_vpc_until_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port("127.0.1.53");
    let cfg = lab(dir.path())
        .api(&format!("inbound_port = {port}"))
        .private_zone(
            "corp.lab",
            &["vpc-lab"],
            "corp.zone",
            &corp_zone("127.0.5.1"),
        );
    let s = Server::start(&cfg);
    let Some(mut sdk) = Sdk::start(s.api()) else {
        return;
    };
    // An on-premises resolver: in no VPC by its address.
    let on_prem: IpAddr = "127.9.0.1".parse().unwrap();
    let www = query_msg("www.corp.lab.", RecordType::A);
    assert_rcode(&s.udp_from(on_prem, &www), ResponseCode::Refused);

    let created = sdk
        .pvtz(
            "AddResolverEndpoint",
            json!({"Name": "from-idc", "VpcId": "vpc-lab", "VpcRegionId": "cn-hangzhou",
                   "SecurityGroupId": "sg-1",
                   "IpConfig": [
                       {"AzId": "cn-hangzhou-h", "VSwitchId": "vsw-h", "CidrBlock": "127.0.1.0/24",
                        "Ip": "127.0.1.53"},
                       {"AzId": "cn-hangzhou-i", "VSwitchId": "vsw-i"}]}),
        )
        .unwrap();
    let id = created["EndpointId"].as_str().unwrap().to_string();
    assert!(id.starts_with("hr-"), "{created}");
    // Open by the reply: on it, the on-premises resolver is vpc-lab's.
    let listener: std::net::SocketAddr = format!("127.0.1.53:{port}").parse().unwrap();
    assert_eq!(addrs(&udp_query(listener, on_prem, &www)), ["127.0.5.1"]);
    // The second address: the lowest free one of vsw-i (.1 is free: no API
    // endpoint here; .10, .11 are the config's ENIs).
    let second: std::net::SocketAddr = format!("127.0.2.1:{port}").parse().unwrap();
    assert_eq!(addrs(&udp_query(second, on_prem, &www)), ["127.0.5.1"]);
    let one = sdk
        .pvtz("DescribeResolverEndpoint", json!({"EndpointId": id}))
        .unwrap();
    assert_eq!(one["Status"], "SUCCESS");
    assert_eq!(one["VpcId"], "vpc-lab");
    let ips: Vec<&str> = one["IpConfigs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["Ip"].as_str().unwrap())
        .collect();
    assert_eq!(ips, ["127.0.1.53", "127.0.2.1"]);
    let all = sdk.pvtz("DescribeResolverEndpoints", json!({})).unwrap();
    assert_eq!(all["TotalItems"], 1);
    assert_eq!(all["Endpoints"][0]["Id"], id.as_str());

    // Refusals: an address in use, outside the vSwitch, another zone.
    let with = |ip: Value| {
        json!({"Name": "x", "VpcId": "vpc-lab", "VpcRegionId": "cn-hangzhou",
               "SecurityGroupId": "sg-1", "IpConfig": [ip]})
    };
    for (ip, code) in [
        (
            json!({"VSwitchId": "vsw-h", "Ip": "127.0.1.53"}),
            "IllegalParam.IpConfig.Ip",
        ),
        (
            json!({"VSwitchId": "vsw-h", "Ip": "127.0.1.10"}),
            "IllegalParam.IpConfig.Ip",
        ),
        (
            json!({"VSwitchId": "vsw-h", "Ip": "127.0.2.60"}),
            "IllegalParam.IpConfig.Ip",
        ),
        (
            json!({"VSwitchId": "vsw-h", "AzId": "cn-hangzhou-i"}),
            "IllegalParam.IpConfig.AzId",
        ),
        (
            json!({"VSwitchId": "vsw-x"}),
            "IllegalParam.IpConfig.VSwitchId",
        ),
    ] {
        let e = sdk
            .pvtz("AddResolverEndpoint", with(ip.clone()))
            .unwrap_err();
        assert_eq!(e.code, code, "{ip}: {e:?}");
    }

    // Kept across a restart: its listeners open at start.
    drop(sdk);
    let mut s = s;
    s.kill();
    let s = Server::start(&cfg);
    assert_eq!(addrs(&udp_query(listener, on_prem, &www)), ["127.0.5.1"]);
    let Some(mut sdk) = Sdk::start(s.api()) else {
        return;
    };
    // Deleted: the address no longer makes its clients vpc-lab's.
    sdk.pvtz("DeleteResolverEndpoint", json!({"EndpointId": id}))
        .unwrap();
    assert_rcode(&udp_query(listener, on_prem, &www), ResponseCode::Refused);
    let e = sdk
        .pvtz("DescribeResolverEndpoint", json!({"EndpointId": id}))
        .unwrap_err();
    assert_eq!(e.code, "ResolverEndpoint.NotExists");
}
