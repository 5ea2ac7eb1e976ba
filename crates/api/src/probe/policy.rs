//! Where connection tests may connect: the outbound policy that keeps the test endpoints from
//! being used to reach the server itself or networks the operator closed (SSRF).
//!
//! A host is resolved once; every address it resolves to is checked, and the test then connects
//! to those checked addresses (never resolving the name again), so a DNS answer that changes
//! between the check and the connection (DNS rebinding) cannot slip another address in.
//!
//! The rules, in order:
//! 1. the unspecified addresses (`0.0.0.0`, `::`) are always refused: connecting to them reaches
//!    the local host;
//! 2. the server's own listen addresses are refused (an unspecified listen address such as
//!    `0.0.0.0:8080` covers every local address on that port);
//! 3. an address inside a `probe_deny` network is refused;
//! 4. when `probe_allow` is not empty, an address outside all of its networks is refused.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) are checked as the IPv4 address they carry.

use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::str::FromStr;

use crate::probe::{Failure, TestCode};
use crate::state::Settings;

/// An IP network in CIDR notation: `10.0.0.0/8`, `fd00::/8`, or a single address (`/32`, `/128`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    address: IpAddr,
    prefix: u8,
}

/// A text that is not a CIDR network.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a network in CIDR notation such as 10.0.0.0/8 or fd00::/8")]
pub struct InvalidIpNet(String);

impl IpNet {
    /// Whether the network holds `ip` (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.address, canonical(ip)) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = InvalidIpNet;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidIpNet(s.to_owned());
        let text = s.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        // An IPv4-mapped IPv6 network (`::ffff:10.0.0.0/104`) is kept as the IPv4 network.
        let (address, max, offset) = match address.parse::<IpAddr>().map_err(|_| invalid())? {
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => (canonical(IpAddr::V6(v6)), 32, 96),
            IpAddr::V4(v4) => (IpAddr::V4(v4), 32, 0),
            IpAddr::V6(v6) => (IpAddr::V6(v6), 128, 0),
        };
        let prefix = match prefix {
            None => max,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|prefix| (offset..=offset + max).contains(prefix))
                .map(|prefix| prefix - offset)
                .ok_or_else(invalid)?,
        };
        Ok(Self { address, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it carries; anything else unchanged.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Whether `ip` is an address of this machine: loopback, or bindable here.
fn is_local(ip: IpAddr) -> bool {
    ip.is_loopback() || ip.is_unspecified() || UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// The outbound policy of connection tests, built from [`Settings`].
#[derive(Clone, Debug, Default)]
pub struct ProbePolicy {
    allow: Vec<IpNet>,
    deny: Vec<IpNet>,
    own: Vec<SocketAddr>,
}

impl ProbePolicy {
    /// The policy of these settings.
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            allow: settings.probe_allow.clone(),
            deny: settings.probe_deny.clone(),
            own: settings.listen_addresses.clone(),
        }
    }

    /// Why the policy refuses `address`, or `Ok`.
    pub fn check(&self, address: SocketAddr) -> Result<(), String> {
        let ip = canonical(address.ip());
        let port = address.port();
        if ip.is_unspecified() {
            return Err(format!(
                "{ip} is the unspecified address, which reaches this server"
            ));
        }
        let is_own = self.own.iter().any(|own| {
            let own_ip = canonical(own.ip());
            own.port() == port && (own_ip == ip || (own_ip.is_unspecified() && is_local(ip)))
        });
        if is_own {
            return Err(format!(
                "{} is the address of this credvault server",
                SocketAddr::new(ip, port)
            ));
        }
        if let Some(network) = self.deny.iter().find(|network| network.contains(ip)) {
            return Err(format!("{ip} is in the denied network {network}"));
        }
        if !self.allow.is_empty() && !self.allow.iter().any(|network| network.contains(ip)) {
            return Err(format!("{ip} is outside every allowed network"));
        }
        Ok(())
    }

    /// Resolves `host` once and checks every address it resolves to.
    ///
    /// `dns_failed` when it does not resolve, `refused_by_policy` when any address is refused
    /// (a name that resolves to one allowed and one refused address is refused as a whole).
    /// `host` may be a name, an IP address or a bracketed IPv6 address.
    pub fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, Failure> {
        let bare = host
            .strip_prefix('[')
            .and_then(|rest| rest.strip_suffix(']'))
            .unwrap_or(host);
        let resolved = (bare, port).to_socket_addrs().map_err(|_| {
            Failure::new(
                TestCode::DnsFailed,
                format!("the host name {host} could not be resolved"),
            )
        })?;
        let mut addresses: Vec<SocketAddr> = Vec::new();
        for address in resolved {
            let address = SocketAddr::new(canonical(address.ip()), address.port());
            if !addresses.contains(&address) {
                addresses.push(address);
            }
        }
        if addresses.is_empty() {
            return Err(Failure::new(
                TestCode::DnsFailed,
                format!("the host name {host} resolved to no address"),
            ));
        }
        for address in &addresses {
            self.check(*address).map_err(|reason| {
                Failure::new(
                    TestCode::RefusedByPolicy,
                    format!(
                        "connection tests may not connect to {host}:{port}: {reason} \
                         (see probe_allow and probe_deny)"
                    ),
                )
            })?;
        }
        Ok(addresses)
    }
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    fn net(text: &str) -> IpNet {
        text.parse().unwrap()
    }

    fn address(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn networks_parse_and_contain() {
        assert!(net("10.0.0.0/8").contains("10.200.1.1".parse().unwrap()));
        assert!(!net("10.0.0.0/8").contains("11.0.0.1".parse().unwrap()));
        assert!(net("0.0.0.0/0").contains("192.0.2.1".parse().unwrap()));
        assert!(net("192.0.2.7").contains("192.0.2.7".parse().unwrap()));
        assert!(!net("192.0.2.7").contains("192.0.2.8".parse().unwrap()));
        assert!(net("fd00::/8").contains("fd12::1".parse().unwrap()));
        assert!(!net("fd00::/8").contains("10.0.0.1".parse().unwrap()));
        assert!(net("::/0").contains("2001:db8::1".parse().unwrap()));
        assert_eq!(net(" 10.1.2.3/16 ").to_string(), "10.1.2.3/16");
        for bad in ["", "10.0.0.0/33", "::/129", "example.com/8", "10.0.0.0/x"] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad}");
        }
    }

    #[test]
    fn mapped_ipv6_addresses_count_as_ipv4() {
        assert!(net("127.0.0.0/8").contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(net("::ffff:10.0.0.0/104").contains("10.1.1.1".parse().unwrap()));
        let policy = ProbePolicy {
            deny: vec![net("10.0.0.0/8")],
            ..ProbePolicy::default()
        };
        assert!(policy.check(address("[::ffff:10.1.1.1]:22")).is_err());
    }

    #[test]
    fn the_default_policy_allows_everything_but_the_unspecified_address() {
        let policy = ProbePolicy::default();
        assert!(policy.check(address("127.0.0.1:5432")).is_ok());
        assert!(policy.check(address("192.0.2.1:22")).is_ok());
        assert!(policy.check(address("0.0.0.0:5432")).is_err());
        assert!(policy.check(address("[::]:22")).is_err());
    }

    #[test]
    fn the_servers_own_address_is_refused_on_its_port_only() {
        let policy = ProbePolicy {
            own: vec![address("127.0.0.1:8080")],
            ..ProbePolicy::default()
        };
        let reason = policy.check(address("127.0.0.1:8080")).unwrap_err();
        assert!(reason.contains("this credvault server"), "{reason}");
        assert!(policy.check(address("[::ffff:127.0.0.1]:8080")).is_err());
        assert!(policy.check(address("127.0.0.1:8081")).is_ok());
    }

    #[test]
    fn an_unspecified_listen_address_covers_every_local_address() {
        let policy = ProbePolicy {
            own: vec![address("0.0.0.0:8080")],
            ..ProbePolicy::default()
        };
        assert!(policy.check(address("127.0.0.1:8080")).is_err());
        assert!(policy.check(address("127.1.2.3:8080")).is_err());
        // TEST-NET-1 is never an address of this machine.
        assert!(policy.check(address("192.0.2.1:8080")).is_ok());
    }

    #[test]
    fn deny_wins_over_allow() {
        let policy = ProbePolicy {
            allow: vec![net("10.0.0.0/8")],
            deny: vec![net("10.9.0.0/16")],
            own: Vec::new(),
        };
        assert!(policy.check(address("10.1.0.1:22")).is_ok());
        assert!(
            policy
                .check(address("10.9.0.1:22"))
                .unwrap_err()
                .contains("10.9.0.0/16")
        );
        assert!(
            policy
                .check(address("192.0.2.1:22"))
                .unwrap_err()
                .contains("outside")
        );
    }

    #[test]
    fn resolve_checks_every_address_of_a_literal() {
        let policy = ProbePolicy {
            deny: vec![net("127.0.0.0/8")],
            ..ProbePolicy::default()
        };
        let failure = policy.resolve("127.0.0.1", 22).unwrap_err();
        assert_eq!(failure.code, TestCode::RefusedByPolicy);
        assert!(
            failure.message.contains("127.0.0.0/8"),
            "{}",
            failure.message
        );
        let allowed = ProbePolicy::default().resolve("[::1]", 22).unwrap();
        assert_eq!(allowed, [address("[::1]:22")]);
    }
}
