//! The CISA Known Exploited Vulnerabilities catalog, read from its published JSON feed
//! (`vulnerabilities[].cveID`, `dateAdded`, `knownRansomwareCampaignUse`): the CVEs attackers
//! exploit today, whatever their severity.

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use time::Date;

use super::file::{read_input, ConfigError};
use crate::timestamp::parse_date;

/// A catalog entry as judging needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KevEntry {
    /// When CISA added the CVE to the catalog.
    pub date_added: Date,
    /// `knownRansomwareCampaignUse` is `Known`.
    pub ransomware: bool,
}

/// The catalog, keyed by upper-case CVE id.
#[derive(Debug)]
pub struct Kev {
    /// The file as given, for messages.
    pub path: String,
    /// The catalog's own date (`dateReleased`, else its newest `dateAdded`), for staleness.
    pub released: Option<Date>,
    entries: HashMap<String, KevEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Feed {
    date_released: Option<Day>,
    vulnerabilities: Vec<FeedEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeedEntry {
    #[serde(rename = "cveID")]
    cve_id: String,
    date_added: Day,
    known_ransomware_campaign_use: Option<String>,
}

/// A date checked while parsing, so a bad one is reported at its line and column.
struct Day(Date);

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_date(&text).map(Day).map_err(serde::de::Error::custom)
    }
}

const WHAT: &str = "the CISA KEV catalog JSON (known_exploited_vulnerabilities.json)";

impl Kev {
    /// Reads and checks a catalog file.
    pub fn load(path: &Path) -> Result<Kev, ConfigError> {
        let bytes = read_input(path, "the KEV catalog")?;
        Kev::parse(&bytes, &path.display().to_string())
    }

    /// Parses catalog JSON; `path` is only for messages.
    pub fn parse(bytes: &[u8], path: &str) -> Result<Kev, ConfigError> {
        let feed: Feed =
            serde_json::from_slice(bytes).map_err(|e| ConfigError::json(path, &e, WHAT))?;
        let mut entries = HashMap::with_capacity(feed.vulnerabilities.len());
        let mut newest = None;
        for entry in feed.vulnerabilities {
            let Day(date_added) = entry.date_added;
            newest = newest.max(Some(date_added));
            entries.insert(
                entry.cve_id.trim().to_ascii_uppercase(),
                KevEntry {
                    date_added,
                    ransomware: entry
                        .known_ransomware_campaign_use
                        .is_some_and(|k| k.eq_ignore_ascii_case("known")),
                },
            );
        }
        let released = feed.date_released.map(|Day(d)| d).or(newest);
        Ok(Kev {
            path: path.to_string(),
            released,
            entries,
        })
    }

    /// The entry for a vulnerability id, compared case-insensitively.
    pub fn get(&self, id: &str) -> Option<KevEntry> {
        if id.bytes().any(|b| b.is_ascii_lowercase()) {
            self.entries.get(&id.to_ascii_uppercase()).copied()
        } else {
            self.entries.get(id).copied()
        }
    }

    /// How many CVEs the catalog lists.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the catalog lists nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_published_feed_parses() {
        let kev = Kev::parse(
            br#"{"title": "CISA Catalog of Known Exploited Vulnerabilities", "catalogVersion": "2026.11.30",
                "dateReleased": "2026-11-30T17:01:44.6254Z", "count": 2,
                "vulnerabilities": [
                  {"cveID": "CVE-2024-3400", "vendorProject": "Palo Alto Networks", "dateAdded": "2024-04-12",
                   "knownRansomwareCampaignUse": "Known", "cwes": ["CWE-77"]},
                  {"cveID": "CVE-2023-4863", "dateAdded": "2023-09-13", "knownRansomwareCampaignUse": "Unknown"}
                ]}"#,
            "kev.json",
        )
        .unwrap();
        assert_eq!(kev.released, Some(date!(2026 - 11 - 30)));
        assert_eq!(
            kev.get("cve-2024-3400"),
            Some(KevEntry {
                date_added: date!(2024 - 04 - 12),
                ransomware: true
            })
        );
        assert!(!kev.get("CVE-2023-4863").unwrap().ransomware);
        assert_eq!(kev.get("CVE-2020-0001"), None);
    }

    #[test]
    fn a_wrong_file_names_line_and_column() {
        let err =
            Kev::parse(b"{\n  \"vulnerabilities\": [{\"cveID\": 1}]\n}", "kev.json").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("kev.json:2:"), "{text}");
        assert!(text.contains("not the CISA KEV catalog"), "{text}");
        let err = Kev::parse(b"{\"cves\": []}", "kev.json").unwrap_err();
        assert!(err.to_string().contains("vulnerabilities"), "{err}");
        let err = Kev::parse(
            br#"{"vulnerabilities": [{"cveID": "CVE-1", "dateAdded": "yesterday"}]}"#,
            "kev.json",
        )
        .unwrap_err();
        assert!(
            err.to_string().starts_with("kev.json:1:") && err.to_string().contains("yesterday"),
            "{err}"
        );
    }

    #[test]
    fn without_date_released_the_newest_entry_dates_the_catalog() {
        let kev = Kev::parse(
            br#"{"vulnerabilities": [{"cveID": "CVE-1", "dateAdded": "2026-01-02"},
                                     {"cveID": "CVE-2", "dateAdded": "2026-03-04"}]}"#,
            "kev.json",
        )
        .unwrap();
        assert_eq!(kev.released, Some(date!(2026 - 03 - 04)));
    }
}
