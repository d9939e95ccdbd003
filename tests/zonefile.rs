//! The sample private zone shipped in `zones/` loads and answers, without
//! allocating on the query path; hostile zone files (include bombs, pipes,
//! files that are not zone text) are refused without harm.

use std::{path::Path, str::FromStr, sync::mpsc, time::Duration};

use epdns::zonefile::{Limits, PrivateZone, ZoneAnswer, ZoneFileError};
use hickory_proto::rr::{Name, RecordType};

fn sample() -> PrivateZone {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("zones/corp.lab.zone");
    PrivateZone::load(&Name::from_str("corp.lab.").unwrap(), &path).expect("sample zone loads")
}

fn name(s: &str) -> Name {
    Name::from_str(s).unwrap()
}

#[test]
fn sample_zone_answers_each_kind_of_record() {
    let zone = sample();
    assert_eq!(zone.origin(), &name("corp.lab."));
    assert_eq!(zone.negative_ttl(), 60);
    for (qname, qtype, count) in [
        ("corp.lab.", RecordType::SOA, 1),
        ("corp.lab.", RecordType::NS, 1),
        ("corp.lab.", RecordType::MX, 1),
        ("corp.lab.", RecordType::TXT, 1),
        ("www.corp.lab.", RecordType::A, 1),
        ("www.corp.lab.", RecordType::AAAA, 1),
        ("app.corp.lab.", RecordType::A, 2),
        ("_ldap._tcp.corp.lab.", RecordType::SRV, 1),
        ("anything.dev.corp.lab.", RecordType::A, 1),
    ] {
        match zone.lookup(&name(qname), qtype) {
            ZoneAnswer::Records(records) => assert_eq!(records.len(), count, "{qname} {qtype}"),
            other => panic!("{qname} {qtype}: {other:?}"),
        }
    }
    assert_eq!(
        zone.lookup(&name("_tcp.corp.lab."), RecordType::A),
        ZoneAnswer::NoData
    );
    assert_eq!(
        zone.lookup(&name("nope.corp.lab."), RecordType::A),
        ZoneAnswer::NxDomain
    );
}

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocations;

#[test]
fn lookups_of_zone_data_do_not_allocate() {
    let zone = sample();
    // Names longer than hickory's inline name storage, in mixed case, as a
    // query would carry them.
    let queries = [
        (name("WWW.Corp.Lab."), RecordType::A),
        (name("_ldap._tcp.corp.lab."), RecordType::SRV),
        (
            name("nothing-here-at-all.with-long-labels.corp.lab."),
            RecordType::A,
        ),
        (name("_tcp.corp.lab."), RecordType::A),
        (name("oss.corp.lab."), RecordType::A),
    ];
    let before = allocations();
    for (qname, qtype) in &queries {
        let answer = zone.lookup(qname, *qtype);
        assert!(!matches!(
            answer,
            ZoneAnswer::Records(std::borrow::Cow::Owned(_))
        ));
    }
    assert_eq!(allocations() - before, 0);

    // The counter works: a wildcard answer is synthesized, so it allocates.
    let wild = name("host.dev.corp.lab.");
    let before = allocations();
    let answer = zone.lookup(&wild, RecordType::A);
    assert!(allocations() > before);
    drop(answer);
}

#[test]
fn zones_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync + 'static>() {}
    shareable::<PrivateZone>();
}

// ---- zone files cannot take the server down --------------------------------

const SOA: &str = "$TTL 60\n@ SOA ns1 hostmaster ( 1 3600 600 86400 60 )\n";

/// Loads `main` on another thread: a load that hangs fails the test
/// instead of hanging it.
fn load_within(main: &Path, limits: Limits) -> Result<PrivateZone, ZoneFileError> {
    let (tx, rx) = mpsc::channel();
    let main = main.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(PrivateZone::load_with(&name("corp.lab."), &main, limits));
    });
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the zone load hung")
}

#[test]
fn an_include_fan_out_is_refused_at_the_file_limit() {
    // Six levels of ten includes each would read a million files.
    let dir = tempfile::tempdir().unwrap();
    for level in 0..6 {
        let body: String = (0..10)
            .map(|i| format!("$INCLUDE level{} l{level}n{i}\n", level + 1))
            .collect();
        std::fs::write(dir.path().join(format!("level{level}")), body).unwrap();
    }
    std::fs::write(dir.path().join("level6"), "x A 127.0.0.1\n").unwrap();
    let main = dir.path().join("corp.lab.zone");
    std::fs::write(&main, format!("{SOA}$INCLUDE level0\n")).unwrap();
    let err = load_within(&main, Limits::default()).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("the zone reads more than 256 files"),
        "{message}"
    );
    // Every refused include is a fault, but the list stays bounded.
    assert!(err.faults().len() <= 101, "{}", err.faults().len());

    // And the byte limit holds across files.
    std::fs::write(dir.path().join("big.inc"), "; padding\n".repeat(2_000)).unwrap();
    std::fs::write(&main, format!("{SOA}$INCLUDE big.inc\n$INCLUDE big.inc\n")).unwrap();
    let limits = Limits {
        max_bytes: 30_000,
        ..Limits::default()
    };
    let message = load_within(&main, limits).unwrap_err().to_string();
    assert!(
        message.contains("corp.lab.zone:4:1: cannot read included file"),
        "{message}"
    );
    assert!(message.contains("exceed 30000 bytes in all"), "{message}");
}

#[test]
fn a_named_pipe_or_a_directory_is_refused_without_reading() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.inc");
    let c_path = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path; mkfifo only creates the node.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    std::fs::create_dir(dir.path().join("dir.inc")).unwrap();
    let main = dir.path().join("corp.lab.zone");
    std::fs::write(&main, format!("{SOA}$INCLUDE pipe.inc\n$INCLUDE dir.inc\n")).unwrap();
    // Nobody ever writes to the pipe: opening it for reading would block.
    let message = load_within(&main, Limits::default())
        .unwrap_err()
        .to_string();
    let lines: Vec<&str> = message.lines().collect();
    assert_eq!(lines.len(), 2, "{message}");
    assert!(
        lines[0].contains("corp.lab.zone:3:1: cannot read included file"),
        "{message}"
    );
    assert!(
        lines[0].contains("not a regular file (a named pipe)"),
        "{message}"
    );
    assert!(
        lines[1].contains("not a regular file (a directory)"),
        "{message}"
    );

    // The zone file itself too.
    let message = load_within(&fifo, Limits::default())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("not a regular file (a named pipe)"),
        "{message}"
    );
}

#[test]
fn a_file_that_is_not_zone_text_is_never_quoted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("shadow"),
        "root:$y$j9T$SALT$SECRETHASH:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
    )
    .unwrap();
    let main = dir.path().join("corp.lab.zone");
    std::fs::write(&main, format!("{SOA}$INCLUDE shadow\nbad A 127.0.0.300\n")).unwrap();
    let message = load_within(&main, Limits::default())
        .unwrap_err()
        .to_string();
    assert!(
        !message.contains("SECRET") && !message.contains("root"),
        "{message}"
    );
    assert!(
        message.contains(
            "shadow: not a zone file: none of its entries parses (2 faults; first at line 1)"
        ),
        "{message}"
    );
    // The zone file's own faults are still quoted.
    assert!(
        message.contains("corp.lab.zone:4:7: expected an IPv4 address: `bad A 127.0.0.300`"),
        "{message}"
    );
}
