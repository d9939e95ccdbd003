//! Nothing a client sends writes more than a bounded, rate-limited amount of
//! log: a flood of queries whose EDNS option is cut short (hickory logs one
//! WARN with the packet's bytes for each, by itself) against a server with
//! the default log filter, and a flood of TCP connections reset mid-query
//! (one debug line each, rate-limited) against one logging at debug.

mod common;

use std::io::Write;
use std::net::{TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use common::*;
use hickory_proto::op::Message;
use hickory_proto::rr::RecordType;

const QUERIES: usize = 3000;
/// The start-up lines and a few rate-limited ones fit easily; one hickory
/// line per query would be about 3 KB each, 9 MB in all.
const LOG_BOUND: u64 = 32 * 1024;

/// An A query whose OPT record holds an option announcing 1000 bytes of data
/// and carrying 999: the OPT record itself is well formed (RDLENGTH matches),
/// the option inside is not.
fn short_option_query(id: u16) -> Vec<u8> {
    let mut p = query_msg(&endpoint("ep-lab1"), RecordType::A)
        .to_vec()
        .unwrap();
    p[0..2].copy_from_slice(&id.to_be_bytes());
    p[11] = 1; // ARCOUNT
    let data = vec![0xAB; 999];
    p.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0]);
    p.extend_from_slice(&(4 + data.len() as u16).to_be_bytes());
    p.extend_from_slice(&65001u16.to_be_bytes()); // a local/experimental code
    p.extend_from_slice(&1000u16.to_be_bytes());
    p.extend_from_slice(&data);
    p
}

#[test]
fn a_malformed_option_flood_writes_bounded_log() {
    let s = Server::start_logging_to_file(&base_lab(), None);
    let log = s.log.clone().unwrap();
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut answered = 0;
    let mut buf = [0u8; 4096];
    // In bursts of 100, so that the socket buffers never drop the queries.
    for burst in 0..QUERIES / 100 {
        for i in 0..100 {
            let id = (burst * 100 + i) as u16;
            sock.send_to(&short_option_query(id), s.addr).unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut got = 0;
        while got < 100 && Instant::now() < deadline {
            if let Ok((n, _)) = sock.recv_from(&mut buf) {
                Message::from_vec(&buf[..n]).expect("the reply decodes");
                got += 1;
            }
        }
        answered += got;
    }
    // Every query reached the server's decoder: the log had its chance.
    assert!(
        answered >= QUERIES * 9 / 10,
        "only {answered} of {QUERIES} answered"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("listening on UDP and TCP"),
        "the log file holds the server's log: {text}"
    );
    let size = std::fs::metadata(&log).unwrap().len();
    assert!(
        size < LOG_BOUND,
        "{size} bytes of log for {QUERIES} queries; it begins:\n{}",
        &text[..text.len().min(2000)]
    );
}

#[test]
fn connections_reset_mid_query_log_a_few_lines_a_second() {
    let s = Server::start_logging_to_file(&base_lab(), Some("debug"));
    let log = s.log.clone().unwrap();
    let start = Instant::now();
    const CONNECTIONS: usize = 500;
    for _ in 0..CONNECTIONS {
        let mut c = TcpStream::connect(s.addr).unwrap();
        // A frame announcing 100 bytes, 10 sent, then a reset (linger 0).
        c.write_all(&[0, 100]).unwrap();
        c.write_all(&[0; 10]).unwrap();
        socket2::SockRef::from(&c)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
    }
    // The server still answers, and has seen every reset by now.
    let m = s.tcp(&[query_msg(&endpoint("ep-lab1"), RecordType::A)]);
    assert_eq!(addrs(&m[0]), ["127.0.1.10", "127.0.2.10"]);
    std::thread::sleep(Duration::from_millis(200));
    let elapsed = start.elapsed().as_secs() + 1;
    let text = std::fs::read_to_string(&log).unwrap();
    let ended = text.matches("tcp connection ended").count() as u64;
    // 5 a second (a window may straddle two seconds), or one every reset
    // would have been written.
    assert!(ended > 0, "the resets were logged at debug:\n{text}");
    assert!(
        ended <= 5 * (elapsed + 1),
        "{ended} lines for {CONNECTIONS} resets in {elapsed} s"
    );
}
