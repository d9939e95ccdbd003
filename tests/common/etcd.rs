//! A real etcd cluster on loopback (Debian's `etcd-server`): members on
//! ports picked free, each with its data in the cluster's temporary folder,
//! killed on drop. A member can be killed (SIGKILL) and started again on
//! the same data; `leader` asks the members which of them leads.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::wait_until;

/// How long a member may take to start or the cluster to elect a leader:
/// a deadline for a loaded machine.
const LIMIT: Duration = Duration::from_secs(60);

pub struct EtcdCluster {
    members: Vec<Member>,
    initial: String,
    dir: tempfile::TempDir,
}

struct Member {
    name: String,
    client: u16,
    peer: u16,
    child: Option<Child>,
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

impl EtcdCluster {
    /// `n` members, started and with a leader.
    pub fn start(n: usize) -> EtcdCluster {
        let members: Vec<Member> = (0..n)
            .map(|i| Member {
                name: format!("m{i}"),
                client: free_port(),
                peer: free_port(),
                child: None,
            })
            .collect();
        let initial = members
            .iter()
            .map(|m| format!("{}=http://127.0.0.1:{}", m.name, m.peer))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = EtcdCluster {
            members,
            initial,
            dir: tempfile::tempdir().expect("a temporary folder"),
        };
        for i in 0..n {
            cluster.spawn(i);
        }
        cluster.wait_writable();
        cluster
    }

    fn spawn(&mut self, i: usize) {
        let m = &self.members[i];
        let child = Command::new("etcd")
            .arg(format!("--name={}", m.name))
            .arg(format!(
                "--data-dir={}",
                self.dir.path().join(&m.name).display()
            ))
            .arg(format!(
                "--listen-client-urls=http://127.0.0.1:{}",
                m.client
            ))
            .arg(format!(
                "--advertise-client-urls=http://127.0.0.1:{}",
                m.client
            ))
            .arg(format!("--listen-peer-urls=http://127.0.0.1:{}", m.peer))
            .arg(format!(
                "--initial-advertise-peer-urls=http://127.0.0.1:{}",
                m.peer
            ))
            .arg(format!("--initial-cluster={}", self.initial))
            .arg("--initial-cluster-token=epdns-test")
            .arg("--initial-cluster-state=new")
            // Twice etcd's defaults: a member starved of CPU by a loaded
            // machine should not depose a healthy leader.
            .arg("--heartbeat-interval=200")
            .arg("--election-timeout=2000")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("etcd starts");
        self.members[i].child = Some(child);
    }

    /// `etcd://…/PREFIX` naming every member.
    pub fn url(&self, prefix: &str) -> String {
        let hosts: Vec<String> = self
            .members
            .iter()
            .map(|m| format!("127.0.0.1:{}", m.client))
            .collect();
        format!("etcd://{}/{prefix}", hosts.join(","))
    }

    fn endpoints(&self) -> String {
        self.members
            .iter()
            .map(|m| format!("http://127.0.0.1:{}", m.client))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn etcdctl(&self, args: &[&str]) -> Option<String> {
        let out = Command::new("etcdctl")
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", self.endpoints()))
            .arg("--command-timeout=2s")
            .args(args)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Waits until a write through any member commits.
    pub fn wait_writable(&self) {
        wait_until(LIMIT, "etcd accepts a write", || {
            self.etcdctl(&["put", "/epdns-test/ready", "1"]).is_some()
        });
    }

    /// The index of the member that leads now.
    pub fn leader(&self) -> usize {
        let mut found = None;
        wait_until(LIMIT, "etcd has a leader", || {
            let Some(out) = self.etcdctl(&["endpoint", "status", "-w", "json"]) else {
                return false;
            };
            let Ok(statuses) = serde_json::from_str::<serde_json::Value>(&out) else {
                return false;
            };
            found = statuses.as_array().into_iter().flatten().find_map(|s| {
                let status = &s["Status"];
                let leads = status["leader"] == status["header"]["member_id"]
                    && status["leader"].as_u64().is_some_and(|l| l != 0);
                let endpoint = s["Endpoint"].as_str()?;
                if !leads {
                    return None;
                }
                self.members
                    .iter()
                    .position(|m| endpoint.ends_with(&format!(":{}", m.client)))
            });
            found.is_some()
        });
        found.expect("found")
    }

    /// Kills member `i` with SIGKILL (its data stays).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills every member.
    pub fn kill_all(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
    }

    /// Starts member `i` again on its data.
    pub fn restart(&mut self, i: usize) {
        self.kill(i);
        self.spawn(i);
    }

    /// Starts every stopped member again and waits until it takes writes.
    pub fn restart_all(&mut self) {
        for i in 0..self.members.len() {
            if self.members[i].child.is_none() {
                self.spawn(i);
            }
        }
        self.wait_writable();
    }
}
