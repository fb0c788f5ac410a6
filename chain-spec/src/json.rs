//! The JSON form of a chain spec: private serde structs mirroring the public ones, and the hex
//! helpers. Malformed values (bad hex, a wrong-size entropy, an unknown profile, an unknown
//! code-source key) are rejected while parsing, so `serde_path_to_error` names their field.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::protocol::ProtocolParams;

/// The whole spec as it appears in JSON.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSpec {
    pub name: String,
    pub id: String,
    pub protocol: ProtocolParams,
    pub pvm: RawPvm,
    #[serde(default)]
    pub dev_rpc: bool,
    pub genesis: RawGenesis,
}

/// `pvm`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPvm {
    #[serde(with = "profile_name")]
    pub profile: kiln_pvm::Profile,
    pub host_call_gas: u64,
    pub log_gas: u64,
}

/// `genesis`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGenesis {
    pub slot: u32,
    #[serde(with = "hex32")]
    pub entropy: [u8; 32],
    #[serde(default)]
    pub services: Vec<RawService>,
}

/// `genesis.services[i]`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawService {
    pub id: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub code: CodeSource,
    pub balance: u64,
    pub min_item_gas: u64,
    pub min_memo_gas: u64,
    #[serde(default)]
    pub gratis_storage: u64,
    #[serde(default, with = "hex_map")]
    pub storage: BTreeMap<Vec<u8>, Vec<u8>>,
}

/// Where a genesis service's code comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CodeSource {
    /// `"0x…"`: the service code preimage itself.
    Hex(Vec<u8>),
    /// `{"file": path}`: the preimage, read from a file.
    File(String),
    /// `{"guest": name}`: a guest program built into `kiln-guests`.
    Guest(String),
}

impl Serialize for CodeSource {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            CodeSource::Hex(bytes) => s.serialize_str(&encode_hex(bytes)),
            CodeSource::File(path) => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry("file", path)?;
                map.end()
            }
            CodeSource::Guest(name) => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry("guest", name)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for CodeSource {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct CodeVisitor;
        impl<'de> Visitor<'de> for CodeVisitor {
            type Value = CodeSource;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"a "0x…" hex string, {"file": "path"} or {"guest": "name"}"#)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<CodeSource, E> {
                decode_hex(v).map(CodeSource::Hex).map_err(E::custom)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CodeSource, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(de::Error::custom(
                        r#"empty object: expected {"file": "path"} or {"guest": "name"}"#,
                    ));
                };
                let source = match key.as_str() {
                    "file" => CodeSource::File(map.next_value()?),
                    "guest" => CodeSource::Guest(map.next_value()?),
                    other => return Err(de::Error::unknown_field(other, &["file", "guest"])),
                };
                if let Some(extra) = map.next_key::<String>()? {
                    return Err(de::Error::custom(format!(
                        "unexpected key `{extra}`: give exactly one of `file` or `guest`"
                    )));
                }
                Ok(source)
            }
        }
        d.deserialize_any(CodeVisitor)
    }
}

/// `"0x"` followed by lowercase hex digits.
pub(crate) fn encode_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(2 + 2 * bytes.len());
    s.push_str("0x");
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xF)]));
    }
    s
}

/// Parses `"0x…"` (digits in either case). The message says what is wrong and where.
pub(crate) fn decode_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or_else(|| {
            format!(
                "expected a \"0x\"-prefixed hex string, got \"{}\"",
                preview(s)
            )
        })?;
    if digits.len() % 2 != 0 {
        return Err(format!(
            "odd number of hex digits ({}): each byte needs two",
            digits.len()
        ));
    }
    let nibble = |i: usize, c: u8| {
        char::from(c).to_digit(16).map(|d| d as u8).ok_or_else(|| {
            format!(
                "invalid hex digit {:?} at position {} (after \"0x\")",
                char::from(c),
                i
            )
        })
    };
    digits
        .as_bytes()
        .chunks_exact(2)
        .enumerate()
        .map(|(i, pair)| Ok(nibble(2 * i, pair[0])? << 4 | nibble(2 * i + 1, pair[1])?))
        .collect()
}

/// At most 24 characters of `s`, for messages.
fn preview(s: &str) -> String {
    let mut chars = s.chars();
    let head: String = chars.by_ref().take(24).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// A hex string as a serde value (used for map keys and values).
struct Hex(Vec<u8>);

impl<'de> Deserialize<'de> for Hex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct HexVisitor;
        impl Visitor<'_> for HexVisitor {
            type Value = Hex;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"a "0x…" hex string"#)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Hex, E> {
                decode_hex(v).map(Hex).map_err(E::custom)
            }
        }
        d.deserialize_str(HexVisitor)
    }
}

/// `[u8; 32]` as `"0x"` + 64 hex digits.
mod hex32 {
    use super::*;

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode_hex(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let Hex(bytes) = Hex::deserialize(d)?;
        <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
            de::Error::custom(format!(
                "expected 32 bytes (64 hex digits), got {}",
                bytes.len()
            ))
        })
    }
}

/// A byte-string map as a JSON object of hex keys and values; a key given twice (e.g. in
/// different letter cases) is an error.
mod hex_map {
    use super::*;

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<Vec<u8>, Vec<u8>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_map(Some(map.len()))?;
        for (k, v) in map {
            out.serialize_entry(&encode_hex(k), &encode_hex(v))?;
        }
        out.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, D::Error> {
        struct MapVisitor;
        impl<'de> Visitor<'de> for MapVisitor {
            type Value = BTreeMap<Vec<u8>, Vec<u8>>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(r#"an object of "0x…" keys and "0x…" values"#)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(Hex(key)) = map.next_key::<Hex>()? {
                    let Hex(value) = map.next_value::<Hex>()?;
                    let shown = encode_hex(&key);
                    if out.insert(key, value).is_some() {
                        return Err(de::Error::custom(format!("duplicate key {shown}")));
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_map(MapVisitor)
    }
}

/// A [`kiln_pvm::Profile`] as its name (`"jam-0.7"`, `"gas-draft"`, `"jam-0.8"`, optionally
/// with `+per-instruction` or `+pipeline`).
mod profile_name {
    use super::*;
    use kiln_pvm::Profile;

    pub fn serialize<S: Serializer>(profile: &Profile, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&profile.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Profile, D::Error> {
        let name = String::deserialize(d)?;
        Profile::from_name(&name).ok_or_else(|| {
            let known: Vec<&str> = Profile::NAMED.iter().map(|(n, _)| *n).collect();
            de::Error::custom(format!(
                "unknown PVM profile \"{}\" (known: {}, optionally followed by \
                 \"+per-instruction\" or \"+pipeline\")",
                preview(&name),
                known.join(", ")
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_accepts_either_case() {
        let bytes = vec![0x00, 0x01, 0xab, 0xff];
        assert_eq!(encode_hex(&bytes), "0x0001abff");
        assert_eq!(decode_hex("0x0001abff").unwrap(), bytes);
        assert_eq!(decode_hex("0X0001ABFF").unwrap(), bytes);
        assert_eq!(decode_hex("0x").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn bad_hex_is_explained() {
        assert!(decode_hex("abcd").unwrap_err().contains("0x"));
        assert!(decode_hex("0xabc")
            .unwrap_err()
            .contains("odd number of hex digits (3)"));
        let e = decode_hex("0xabzz").unwrap_err();
        assert!(e.contains("'z'") && e.contains("position 2"), "{e}");
        // Non-ASCII input is an error, not a panic.
        assert!(decode_hex("0xé0").is_err());
    }
}
