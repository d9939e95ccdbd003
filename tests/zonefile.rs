//! The sample private zone shipped in `zones/` loads and answers, without
//! allocating on the query path.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
    path::Path,
    str::FromStr,
};

use epdns::zonefile::{PrivateZone, ZoneAnswer};
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

/// Counts the allocations of the current thread, so a test can assert that a
/// lookup allocates nothing while other tests run in parallel.
struct CountingAlloc;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above, i.e. from the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

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
