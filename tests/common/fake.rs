//! Stand-ins for the services behind ENIs: TCP listeners that the probes
//! connect to, on loopback addresses, all on one port (a probe setting has
//! one port for every ENI).

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// TCP listeners on every address of `ips`, on one port the kernel chose
/// for the first; another port when that one is taken on another address.
pub fn bind_same_port(ips: &[&str]) -> Vec<TcpListener> {
    for _ in 0..20 {
        let first = TcpListener::bind((ips[0], 0)).expect("bind a fake ENI");
        let port = first.local_addr().unwrap().port();
        let rest: Result<Vec<_>, _> = ips[1..]
            .iter()
            .map(|ip| TcpListener::bind((*ip, port)))
            .collect();
        if let Ok(rest) = rest {
            return std::iter::once(first).chain(rest).collect();
        }
    }
    panic!("no port free on every one of {ips:?} in 20 tries")
}

/// A fake ENI: a TCP listener that accepts and closes connections until
/// stopped; then connects are refused, as with a dead service. It counts the
/// connections it accepted: each is one probe that found it alive.
pub struct FakeEni {
    pub addr: SocketAddr,
    accepted: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeEni {
    pub fn start(addr: SocketAddr) -> FakeEni {
        FakeEni::serve(TcpListener::bind(addr).expect("bind fake ENI"))
    }

    pub fn serve(listener: TcpListener) -> FakeEni {
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicU64::new(0));
        let (flag, count) = (stop.clone(), accepted.clone());
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => {
                        count.fetch_add(1, Ordering::Relaxed);
                        drop(s)
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        FakeEni {
            addr,
            accepted,
            stop,
            thread: Some(thread),
        }
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Closes the listener: connects are refused from now on.
    pub fn stop(mut self) -> SocketAddr {
        self.halt();
        self.addr
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

impl Drop for FakeEni {
    fn drop(&mut self) {
        self.halt();
    }
}
