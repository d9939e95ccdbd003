//! The embedded default lab config, as a new user runs it.

mod common;

use std::net::SocketAddr;
use std::process::{Command, Stdio};

use common::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn embedded_lab_config_serves_its_names() {
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let admin = format!("127.0.0.1:{}", free_port());
    let _child = Child(
        Command::new(env!("CARGO_BIN_EXE_epdns"))
            .args(["serve", "--listen", &addr.to_string(), "--admin", &admin])
            .env("EPDNS_LOG", "warn")
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let q = query_msg(&endpoint("ep-lab1"), RecordType::A)
        .to_vec()
        .unwrap();
    let from = "127.0.0.1".parse().unwrap();
    let mut reply = None;
    for _ in 0..50 {
        reply = udp_exchange_from(addr, from, &q, std::time::Duration::from_millis(200));
        if reply.is_some() {
            break;
        }
    }
    let m = hickory_proto::op::Message::from_vec(&reply.expect("lab server answers")).unwrap();
    assert_rcode(&m, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert_eq!(addrs(&m), ["127.0.1.10", "127.0.2.10", "127.0.3.10"]);
    // The embedded private zone (loaded from the copy embedded with the
    // config), its CNAME into ep-lab1, and the custom domain, for vpc-lab.
    let ask = |name: &str| {
        let q = query_msg(name, RecordType::A);
        udp_query(addr, from, &q)
    };
    assert_eq!(addrs(&ask("www.corp.lab.")), ["127.0.0.10"]);
    assert_eq!(addrs(&ask("oss.corp.lab.")).len(), 3);
    assert_eq!(
        addrs(&ask("oss-cn-hangzhou-internal.aliyuncs.com.")).len(),
        3
    );
}

#[test]
fn lab_config_file_and_embedded_copy_pass_check() {
    // From another folder: the embedded config must not need the source tree.
    let elsewhere = tempfile::tempdir().unwrap();
    let lab = concat!(env!("CARGO_MANIFEST_DIR"), "/zones/lab.toml");
    for args in [&["check"][..], &["check", "--config", lab][..]] {
        let out = Command::new(env!("CARGO_BIN_EXE_epdns"))
            .args(args)
            .current_dir(elsewhere.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("ok: 3 endpoints"));
    }
}
