//! The embedded default lab config, as a new user runs it.

mod common;

use std::process::Command;

use common::*;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;

#[test]
fn embedded_lab_config_serves_its_names() {
    // Its inbound listener keeps the embedded config's fixed port; the
    // harness moves the listen address and the admin API to free ports.
    let s = Server::start_embedded();
    let m = s.udp(&endpoint("ep-lab1"), RecordType::A);
    assert_rcode(&m, ResponseCode::NoError);
    assert!(m.metadata.authoritative);
    assert_eq!(addrs(&m), ["127.0.1.10", "127.0.2.10", "127.0.3.10"]);
    // The embedded private zone (loaded from the copy embedded with the
    // config), its CNAME into ep-lab1, and the custom domain, for vpc-lab.
    let ask = |name: &str| s.udp(name, RecordType::A);
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
