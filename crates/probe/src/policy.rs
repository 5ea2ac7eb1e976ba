//! Where connection tests may connect: the outbound policy that keeps the test endpoints from
//! being used to reach the server itself, its database, cloud metadata services or internal
//! networks (SSRF).
//!
//! A host is resolved once; every address it resolves to is checked, and the test then connects
//! to those checked addresses (never resolving the name again), so a DNS answer that changes
//! between the check and the connection (DNS rebinding) cannot slip another address in.
//!
//! An address is checked in each of its forms: as given, and as the IPv4 address it carries
//! when it is IPv4-mapped (`::ffff:10.0.0.1`), IPv4-compatible (`::10.0.0.1`), NAT64
//! (`64:ff9b::a00:1`) or 6to4 (`2002:a00:1::`); a refusal of any form refuses the address. The
//! rules, in order:
//! 1. the unspecified addresses (`0.0.0.0`, `::`) are always refused: connecting to them reaches
//!    the local host;
//! 2. the server's own listen addresses and its database's addresses are refused on their ports
//!    (an unspecified listen address such as `0.0.0.0:8080` covers every local address on that
//!    port);
//! 3. an address inside a `deny` network (`probe_deny` of the server) is refused;
//! 4. when `allow` (`probe_allow`) is not empty, an address outside all of its networks is
//!    refused;
//! 5. an address in a [`DEFAULT_DENY`] network (loopback, link-local and cloud metadata,
//!    multicast, broadcast, shared address space, private ranges) is refused unless a
//!    `probe_allow` network holds it and is no wider than that default network (`127.0.0.0/8`
//!    or `127.0.0.1/32` opens loopback; `0.0.0.0/0` opens no default-denied range).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::str::FromStr;

use crate::{Failure, ProbeSettings, TestCode};

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

/// An IPv4-mapped IPv6 address as the IPv4 address it carries; anything else unchanged. This is
/// the address a test dials: a mapped address reaches the IPv4 host itself.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The IPv4 address an IPv6 address carries to reach an IPv4 host: IPv4-mapped
/// (`::ffff:0:0/96`), IPv4-compatible (`::/96`, but not `::` and `::1`), NAT64 (`64:ff9b::/96`)
/// or 6to4 (`2002::/16`, the 32 bits after the prefix).
pub fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    let low = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    if let Some(mapped) = ip.to_ipv4_mapped() {
        return Some(mapped);
    }
    if bits >> 32 == 0 {
        // `::` and `::1` are the IPv6 unspecified and loopback addresses, not IPv4 ones.
        return (bits > 1).then_some(low);
    }
    if bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        return Some(low);
    }
    if ip.segments()[0] == 0x2002 {
        return Some(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32));
    }
    None
}

/// The forms of an address that the policy checks: itself, and the IPv4 address it carries.
fn forms(ip: IpAddr) -> Vec<IpAddr> {
    let ip = canonical(ip);
    let mut forms = vec![ip];
    if let IpAddr::V6(v6) = ip {
        forms.extend(embedded_ipv4(v6).map(IpAddr::V4));
    }
    forms
}

/// Networks that connection tests never reach unless the operator opens them with a
/// `probe_allow` network at least as narrow: with the reason given in a refusal.
pub const DEFAULT_DENY: [(&str, &str); 17] = [
    ("127.0.0.0/8", "loopback"),
    ("::1/128", "loopback"),
    (
        "169.254.0.0/16",
        "link-local (cloud metadata services live at 169.254.169.254)",
    ),
    ("fe80::/10", "link-local"),
    ("fd00:ec2::254/128", "the EC2 metadata service"),
    ("0.0.0.0/8", "\"this network\""),
    ("224.0.0.0/4", "multicast"),
    ("ff00::/8", "multicast"),
    ("255.255.255.255/32", "broadcast"),
    ("240.0.0.0/4", "reserved"),
    ("100.64.0.0/10", "shared address space (carrier-grade NAT)"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("198.18.0.0/15", "benchmarking"),
    ("10.0.0.0/8", "private"),
    ("172.16.0.0/12", "private"),
    ("192.168.0.0/16", "private"),
    ("fc00::/7", "unique local (private)"),
];

/// [`DEFAULT_DENY`], parsed.
fn default_deny() -> impl Iterator<Item = (IpNet, &'static str)> {
    DEFAULT_DENY.iter().filter_map(|(network, reason)| {
        network
            .parse::<IpNet>()
            .ok()
            .map(|network| (network, *reason))
    })
}

/// Whether `ip` is an address of this machine: loopback, or bindable here.
fn is_local(ip: IpAddr) -> bool {
    ip.is_loopback() || ip.is_unspecified() || UdpSocket::bind(SocketAddr::new(ip, 0)).is_ok()
}

/// The outbound policy of connection tests, built from [`ProbeSettings`] and the addresses the
/// server listens on.
#[derive(Clone, Debug, Default)]
pub struct ProbePolicy {
    allow: Vec<IpNet>,
    deny: Vec<IpNet>,
    own: Vec<SocketAddr>,
    database: Vec<SocketAddr>,
}

impl ProbePolicy {
    /// The policy of these settings, for a server listening on `listen_addresses` (which tests
    /// never connect to).
    pub fn new(settings: &ProbeSettings, listen_addresses: &[SocketAddr]) -> Self {
        Self {
            allow: settings.allow.clone(),
            deny: settings.deny.clone(),
            own: listen_addresses.to_vec(),
            database: settings.database_addresses.clone(),
        }
    }

    /// Why the policy refuses `address`, or `Ok`.
    pub fn check(&self, address: SocketAddr) -> Result<(), String> {
        let port = address.port();
        let forms = forms(address.ip());
        for ip in &forms {
            self.check_form(*ip, port)?;
        }
        Ok(())
    }

    fn check_form(&self, ip: IpAddr, port: u16) -> Result<(), String> {
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
        let is_database = self
            .database
            .iter()
            .any(|database| database.port() == port && canonical(database.ip()) == ip);
        if is_database {
            return Err(format!(
                "{} is the address of this credvault server's database",
                SocketAddr::new(ip, port)
            ));
        }
        if let Some(network) = self.deny.iter().find(|network| network.contains(ip)) {
            return Err(format!("{ip} is in the denied network {network}"));
        }
        if !self.allow.is_empty() && !self.allow.iter().any(|network| network.contains(ip)) {
            return Err(format!("{ip} is outside every allowed network"));
        }
        for (network, reason) in default_deny() {
            let opened = self
                .allow
                .iter()
                .any(|allowed| allowed.contains(ip) && allowed.prefix >= network.prefix);
            if network.contains(ip) && !opened {
                return Err(format!(
                    "{ip} is in {network} ({reason}), which connection tests reach only when \
                     probe_allow names it"
                ));
            }
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

    /// A policy that opens loopback, as the tests against local servers need.
    fn loopback_allowed() -> ProbePolicy {
        ProbePolicy {
            allow: vec![net("127.0.0.0/8"), net("::1/128")],
            ..ProbePolicy::default()
        }
    }

    #[test]
    fn the_default_policy_allows_public_addresses_only() {
        let policy = ProbePolicy::default();
        assert!(policy.check(address("192.0.2.1:22")).is_ok());
        assert!(policy.check(address("[2001:db8::1]:22")).is_ok());
        assert!(policy.check(address("8.8.8.8:5432")).is_ok());
        for refused in [
            "0.0.0.0:5432",
            "[::]:22",
            "127.0.0.1:5432",
            "127.8.9.10:5432",
            "[::1]:5432",
            "169.254.169.254:80",
            "169.254.1.1:80",
            "[fe80::1]:22",
            "[fd00:ec2::254]:80",
            "224.0.0.1:5432",
            "[ff02::1]:22",
            "255.255.255.255:22",
            "100.64.0.1:22",
            "100.127.255.254:22",
            "10.1.2.3:5432",
            "172.16.0.1:5432",
            "172.31.255.255:5432",
            "192.168.1.1:22",
            "[fd12:3456::1]:22",
            "[fc00::1]:22",
        ] {
            let reason = policy.check(address(refused)).unwrap_err();
            assert!(!reason.is_empty(), "{refused}");
        }
        assert!(policy.check(address("172.32.0.1:5432")).is_ok());
        assert!(policy.check(address("100.128.0.1:22")).is_ok());
    }

    #[test]
    fn embedded_ipv4_addresses_are_checked_as_ipv4() {
        let policy = ProbePolicy::default();
        for (text, carried) in [
            ("::ffff:127.0.0.1", "127.0.0.1"),
            ("::127.0.0.1", "127.0.0.1"),
            ("::169.254.169.254", "169.254.169.254"),
            ("64:ff9b::7f00:1", "127.0.0.1"),
            ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
            ("64:ff9b::a00:1", "10.0.0.1"),
            ("2002:7f00:1::", "127.0.0.1"),
            ("2002:a9fe:a9fe::1", "169.254.169.254"),
            ("2002:c0a8:101:1::1", "192.168.1.1"),
        ] {
            let ip: Ipv6Addr = text.parse().unwrap();
            assert_eq!(embedded_ipv4(ip), Some(carried.parse().unwrap()), "{text}");
            let reason = policy
                .check(SocketAddr::new(IpAddr::V6(ip), 80))
                .unwrap_err();
            assert!(reason.contains(carried), "{text}: {reason}");
        }
        assert_eq!(embedded_ipv4("::1".parse().unwrap()), None);
        assert_eq!(embedded_ipv4("::".parse().unwrap()), None);
        assert_eq!(embedded_ipv4("2001:db8::1".parse().unwrap()), None);
        // A NAT64 or 6to4 form of a public address is public.
        assert!(policy.check(address("[64:ff9b::c000:201]:22")).is_ok());
        assert!(policy.check(address("[2002:c000:201::1]:22")).is_ok());
    }

    #[test]
    fn a_default_denied_range_opens_only_for_an_allow_as_narrow() {
        let policy = ProbePolicy {
            allow: vec![net("0.0.0.0/0"), net("::/0")],
            ..ProbePolicy::default()
        };
        assert!(policy.check(address("192.0.2.1:22")).is_ok());
        assert!(policy.check(address("127.0.0.1:22")).is_err());
        assert!(policy.check(address("169.254.169.254:80")).is_err());
        assert!(policy.check(address("10.0.0.1:22")).is_err());

        let policy = ProbePolicy {
            allow: vec![net("10.20.0.0/16"), net("127.0.0.1/32")],
            ..ProbePolicy::default()
        };
        assert!(policy.check(address("10.20.1.1:5432")).is_ok());
        assert!(policy.check(address("127.0.0.1:5432")).is_ok());
        assert!(policy.check(address("[::ffff:10.20.1.1]:5432")).is_ok());
        assert!(policy.check(address("10.21.1.1:5432")).is_err());
        assert!(policy.check(address("127.0.0.2:5432")).is_err());
        // Outside the allow list even though public.
        assert!(policy.check(address("192.0.2.1:22")).is_err());
        // NAT64 to an allowed private address: its IPv6 form is outside the allow list.
        assert!(policy.check(address("[64:ff9b::a14:101]:5432")).is_err());
    }

    #[test]
    fn the_databases_address_is_refused_on_its_port() {
        let policy = ProbePolicy {
            database: vec![address("127.0.0.1:5432")],
            ..loopback_allowed()
        };
        let reason = policy.check(address("127.0.0.1:5432")).unwrap_err();
        assert!(reason.contains("database"), "{reason}");
        assert!(policy.check(address("[::ffff:127.0.0.1]:5432")).is_err());
        assert!(policy.check(address("127.0.0.1:5433")).is_ok());
    }

    #[test]
    fn the_servers_own_address_is_refused_on_its_port_only() {
        let policy = ProbePolicy {
            own: vec![address("127.0.0.1:8080")],
            ..loopback_allowed()
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
            ..loopback_allowed()
        };
        assert!(policy.check(address("127.0.0.1:8080")).is_err());
        assert!(policy.check(address("127.1.2.3:8080")).is_err());
        // TEST-NET-1 is never an address of this machine.
        assert!(
            policy.check(address("192.0.2.1:8080")).is_err(),
            "outside the allow list"
        );
        let policy = ProbePolicy {
            own: vec![address("0.0.0.0:8080")],
            ..ProbePolicy::default()
        };
        assert!(policy.check(address("192.0.2.1:8080")).is_ok());
    }

    #[test]
    fn deny_wins_over_allow() {
        let policy = ProbePolicy {
            allow: vec![net("10.0.0.0/8")],
            deny: vec![net("10.9.0.0/16")],
            ..ProbePolicy::default()
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
        let failure = ProbePolicy::default().resolve("127.0.0.1", 22).unwrap_err();
        assert_eq!(failure.code, TestCode::RefusedByPolicy);
        assert!(failure.message.contains("loopback"), "{}", failure.message);
        let allowed = loopback_allowed().resolve("[::1]", 22).unwrap();
        assert_eq!(allowed, [address("[::1]:22")]);
    }
}
