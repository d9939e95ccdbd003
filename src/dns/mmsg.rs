//! Batched UDP I/O: `recvmmsg` takes up to `BATCH` queries in one system
//! call (blocking until at least one is there) and `sendmmsg` sends their
//! replies in one. On a loaded server this divides the per-query system-call
//! cost, which is most of the cost of an answer once the answer itself is
//! precomputed (Knot and NSD batch the same way).
//!
//! The unsafe code is confined here: it hands the kernel pointers into
//! buffers that this struct owns and that do not move during the call.

use std::io;
use std::mem::{size_of, zeroed};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

/// Datagrams per system call.
pub(crate) const BATCH: usize = 32;
/// Largest query we read; anything longer arrives truncated and is
/// answered FORMERR or dropped like any malformed query.
pub(crate) const MAX_QUERY: usize = 4096;

pub(crate) struct Batch {
    bufs: Box<[[u8; MAX_QUERY]]>,
    addrs: Box<[libc::sockaddr_storage]>,
    lens: [usize; BATCH],
    addr_lens: [libc::socklen_t; BATCH],
    count: usize,
    /// Replies to send: (slot of the query it answers, bytes).
    replies: Vec<(usize, Vec<u8>)>,
    spare: Vec<Vec<u8>>,
}

impl Default for Batch {
    fn default() -> Self {
        Batch {
            bufs: vec![[0u8; MAX_QUERY]; BATCH].into_boxed_slice(),
            // SAFETY: sockaddr_storage is plain data; all-zero is valid.
            addrs: vec![unsafe { zeroed::<libc::sockaddr_storage>() }; BATCH].into_boxed_slice(),
            lens: [0; BATCH],
            addr_lens: [0; BATCH],
            count: 0,
            replies: Vec::with_capacity(BATCH),
            spare: (0..BATCH).map(|_| Vec::with_capacity(512)).collect(),
        }
    }
}

impl Batch {
    /// Waits for at least one datagram and takes as many as are queued (up
    /// to `BATCH`). Returns how many.
    pub(crate) fn recv(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        // SAFETY: iovec and mmsghdr are plain data; zero is a valid start.
        let mut iovecs: [libc::iovec; BATCH] = unsafe { zeroed() };
        let mut hdrs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
        for i in 0..BATCH {
            iovecs[i].iov_base = self.bufs[i].as_mut_ptr().cast();
            iovecs[i].iov_len = MAX_QUERY;
            hdrs[i].msg_hdr.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
            hdrs[i].msg_hdr.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            hdrs[i].msg_hdr.msg_iov = &mut iovecs[i];
            hdrs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: every pointer in `hdrs` points into `self` or `iovecs`,
        // which outlive the call, with the lengths given.
        let n = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                hdrs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            self.count = 0;
            return Err(io::Error::last_os_error());
        }
        self.count = n as usize;
        for (i, h) in hdrs.iter().enumerate().take(self.count) {
            self.lens[i] = h.msg_len as usize;
            self.addr_lens[i] = h.msg_hdr.msg_namelen;
        }
        self.replies.clear();
        Ok(self.count)
    }

    /// Query `i` of the last `recv`: its bytes and sender.
    pub(crate) fn query(&self, i: usize) -> (&[u8], Option<SocketAddr>) {
        let bytes = &self.bufs[i][..self.lens[i].min(MAX_QUERY)];
        (bytes, socket_addr(&self.addrs[i], self.addr_lens[i]))
    }

    /// A cleared buffer to write the reply to query `i` into; `reply` queues it.
    pub(crate) fn reply_buffer(&mut self) -> Vec<u8> {
        let mut b = self.spare.pop().unwrap_or_default();
        b.clear();
        b
    }

    pub(crate) fn reply(&mut self, i: usize, bytes: Vec<u8>) {
        self.replies.push((i, bytes));
    }

    /// Returns an unused reply buffer.
    pub(crate) fn give_back(&mut self, buf: Vec<u8>) {
        self.spare.push(buf);
    }

    /// Sends every queued reply to the sender of its query.
    pub(crate) fn send(&mut self, socket: &UdpSocket) -> io::Result<()> {
        let total = self.replies.len();
        let mut sent = 0;
        let mut result = Ok(());
        while sent < total {
            // SAFETY: plain data, zero is a valid start.
            let mut iovecs: [libc::iovec; BATCH] = unsafe { zeroed() };
            let mut hdrs: [libc::mmsghdr; BATCH] = unsafe { zeroed() };
            let todo = &mut self.replies[sent..];
            for (k, (slot, bytes)) in todo.iter_mut().enumerate() {
                iovecs[k].iov_base = bytes.as_mut_ptr().cast();
                iovecs[k].iov_len = bytes.len();
                hdrs[k].msg_hdr.msg_name =
                    (&mut self.addrs[*slot] as *mut libc::sockaddr_storage).cast();
                hdrs[k].msg_hdr.msg_namelen = self.addr_lens[*slot];
                hdrs[k].msg_hdr.msg_iov = &mut iovecs[k];
                hdrs[k].msg_hdr.msg_iovlen = 1;
            }
            // SAFETY: as in `recv`: pointers into live buffers with their
            // lengths, for `todo.len()` messages.
            let n = unsafe {
                libc::sendmmsg(
                    socket.as_raw_fd(),
                    hdrs.as_mut_ptr(),
                    todo.len() as libc::c_uint,
                    0,
                )
            };
            if n <= 0 {
                // The first message failed (e.g. an ICMP error from an earlier
                // send): skip it and carry on with the rest.
                result = Err(io::Error::last_os_error());
                sent += 1;
            } else {
                sent += n as usize;
            }
        }
        for (_, b) in self.replies.drain(..) {
            self.spare.push(b);
        }
        result
    }
}

/// The sender address the kernel wrote into `storage`.
fn socket_addr(storage: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
    let len = len as usize;
    match storage.ss_family as libc::c_int {
        libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family says the storage holds a sockaddr_in, and
            // sockaddr_storage is large and aligned enough for any address.
            let a =
                unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = std::net::Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::from((ip, u16::from_be(a.sin_port))))
        }
        libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, for sockaddr_in6.
            let a = unsafe {
                &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>()
            };
            let ip = std::net::Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::V6(std::net::SocketAddrV6::new(
                ip,
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}
