//! NOTIFY (RFC 1996) to one secondary: for each zone whose serial is not
//! the one it acknowledged last, one NOTIFY at a time, signed with its key,
//! retried until acknowledged (`TRIES` at most, the interval doubling).
//! A change while a NOTIFY is in flight replaces it with one for the new
//! serial, no sooner than `MIN_GAP` after the last send: a burst of changes
//! costs the secondary at most one NOTIFY per zone per `MIN_GAP`, and a
//! failover does not wait behind the retries of an older NOTIFY (e.g. one
//! sent while the secondary was still starting).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, Metadata, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, Record, RecordType};
use tokio::net::UdpSocket;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, warn};

use super::stream::message;
use super::tsig::{self, StreamSigner};
use crate::model::TsigKey;

/// Sends per NOTIFY before giving up until the zone changes again.
pub(crate) const TRIES: u32 = 5;
/// The first retry interval; it doubles (RFC 1996 §3.6 leaves it to us;
/// its 60 s suits the Internet, not a lab that fails over in a second).
pub(crate) const FIRST_RETRY: Duration = Duration::from_millis(250);
/// The least time between two NOTIFYs for one zone to one secondary.
pub(crate) const MIN_GAP: Duration = Duration::from_millis(50);

/// Each zone's apex, current SOA and serial, as the engine last published.
pub(crate) type Serials = Arc<Vec<(Name, Record, u32)>>;

/// A NOTIFY waiting for its answer.
struct Flight<'k> {
    id: u16,
    serial: u32,
    /// Sends so far; 0 when a newer serial waits for `due` to replace it.
    tries: u32,
    sent: Instant,
    due: Instant,
    signer: Option<StreamSigner<'k>>,
}

/// Runs until the engine stops publishing serials.
pub(crate) async fn run(
    address: SocketAddr,
    key: Option<TsigKey>,
    mut serials: watch::Receiver<Serials>,
) {
    let local: SocketAddr = match address.ip() {
        IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        IpAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = match UdpSocket::bind(local).await {
        Ok(s) => s,
        Err(e) => {
            warn!(secondary = %address, error = %e, "NOTIFY: cannot open a UDP socket; no NOTIFY to this secondary");
            return;
        }
    };
    if let Err(e) = socket.connect(address).await {
        warn!(secondary = %address, error = %e, "NOTIFY: cannot reach the secondary; no NOTIFY to it");
        return;
    }
    let key = key.as_ref();
    // Serials the secondary acknowledged (or that we gave up on).
    let mut done: HashMap<Name, u32> = HashMap::new();
    let mut flights: HashMap<Name, Flight<'_>> = HashMap::new();
    let mut buf = vec![0u8; 4096];
    loop {
        let current = serials.borrow_and_update().clone();
        for (apex, soa, serial) in current.iter() {
            if let Some(f) = flights.get_mut(apex) {
                if f.serial != *serial && f.tries > 0 {
                    f.due = f.due.min(f.sent + MIN_GAP);
                    f.tries = 0;
                }
                continue;
            }
            if done.get(apex) == Some(serial) {
                continue;
            }
            let flight = send(&socket, key, apex, soa, *serial, 1).await;
            flights.insert(apex.clone(), flight);
        }
        let next_due = flights.values().map(|f| f.due).min();
        tokio::select! {
            changed = serials.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            got = socket.recv(&mut buf) => {
                let Ok(n) = got else { continue };
                acknowledged(&buf[..n], &mut flights, &mut done, address);
            }
            _ = sleep_until(next_due) => {
                let now = Instant::now();
                let due: Vec<Name> = flights.iter().filter(|(_, f)| f.due <= now).map(|(n, _)| n.clone()).collect();
                for apex in due {
                    let f = flights.remove(&apex).expect("listed from flights");
                    if f.tries >= TRIES {
                        warn!(secondary = %address, zone = %apex, serial = f.serial, tries = f.tries, "NOTIFY not acknowledged; giving up until the zone changes again");
                        done.insert(apex, f.serial);
                        continue;
                    }
                    let soa = current.iter().find(|(a, _, _)| *a == apex).map(|(_, s, _)| s.clone());
                    if let Some(soa) = soa {
                        let serial = super::content::soa_serial(&soa);
                        let flight = send(&socket, key, &apex, &soa, serial, f.tries + 1).await;
                        flights.insert(apex, flight);
                    }
                }
            }
        }
    }
}

/// Sends one NOTIFY for `apex` at `serial` (its SOA in the answer section,
/// RFC 1996 §3.7: a hint the secondary may use).
async fn send<'k>(
    socket: &UdpSocket,
    key: Option<&'k TsigKey>,
    apex: &Name,
    soa: &Record,
    serial: u32,
    tries: u32,
) -> Flight<'k> {
    let id = rand_id();
    let mut meta = Metadata::new(id, MessageType::Query, OpCode::Notify);
    meta.authoritative = true;
    let query = Query::query(apex.clone(), RecordType::SOA);
    let mut msg = message(&meta, Some(&query), std::slice::from_ref(soa));
    let signer = key.map(|k| {
        let mut s = StreamSigner::request(k, id, tsig::now());
        s.sign(&mut msg, None, Vec::new());
        s
    });
    match socket.send(&msg).await {
        Ok(_) => debug!(zone = %apex, serial, tries, "NOTIFY sent"),
        Err(e) => debug!(zone = %apex, error = %e, "NOTIFY not sent; will retry"),
    }
    let sent = Instant::now();
    Flight {
        id,
        serial,
        tries,
        sent,
        due: sent + FIRST_RETRY * 2u32.pow(tries - 1),
        signer,
    }
}

/// Marks the flight this answer is for as done when it is a NOERROR
/// NOTIFY answer with a valid signature (when we signed).
fn acknowledged(
    reply: &[u8],
    flights: &mut HashMap<Name, Flight<'_>>,
    done: &mut HashMap<Name, u32>,
    address: SocketAddr,
) {
    let Ok(msg) = Message::from_vec(reply) else {
        return;
    };
    if msg.metadata.message_type != MessageType::Response || msg.metadata.op_code != OpCode::Notify
    {
        return;
    }
    let Some(apex) = flights
        .iter()
        .find(|(_, f)| f.id == msg.metadata.id)
        .map(|(n, _)| n.clone())
    else {
        return;
    };
    let f = &flights[&apex];
    if let Some(signer) = &f.signer
        && let Err(e) = signer.verify_answer(reply)
    {
        warn!(secondary = %address, zone = %apex, error = %e, "NOTIFY answer not accepted");
        return;
    }
    if msg.metadata.response_code != ResponseCode::NoError {
        // Retried when due: a secondary still loading may refuse for now.
        warn!(secondary = %address, zone = %apex, rcode = %msg.metadata.response_code, "NOTIFY refused");
        return;
    }
    let f = flights.remove(&apex).expect("found above");
    debug!(secondary = %address, zone = %apex, serial = f.serial, "NOTIFY acknowledged");
    done.insert(apex, f.serial);
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// A message ID nobody on the path can guess (RFC 5452 spirit).
fn rand_id() -> u16 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now()) as u16
}
