//! The 20 first-level units of Kazakhstan (17 oblasts and the cities of republican
//! significance Astana, Almaty and Shymkent), as used on every topic and in the store.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A region id as carried in messages: one of the 20 units, or `unknown`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    /// Abai region (Semey).
    Abai,
    /// Akmola region (Kokshetau).
    Akmola,
    /// Aktobe region.
    Aktobe,
    /// Almaty, the city.
    Almaty,
    /// Almaty region (Konaev).
    AlmatyRegion,
    /// Astana, the capital.
    Astana,
    /// Atyrau region.
    Atyrau,
    /// East Kazakhstan region (Oskemen).
    EastKazakhstan,
    /// Jambyl region (Taraz).
    Jambyl,
    /// Jetisu region (Taldykorgan).
    Jetisu,
    /// Karaganda region.
    Karaganda,
    /// Kostanay region.
    Kostanay,
    /// Kyzylorda region.
    Kyzylorda,
    /// Mangystau region (Aktau).
    Mangystau,
    /// North Kazakhstan region (Petropavl).
    NorthKazakhstan,
    /// Pavlodar region.
    Pavlodar,
    /// Shymkent, the city.
    Shymkent,
    /// Turkistan region.
    Turkistan,
    /// Ulytau region (Jezkazgan).
    Ulytau,
    /// West Kazakhstan region (Oral).
    WestKazakhstan,
    /// The region could not be resolved.
    Unknown,
}

/// Static facts about one region: ids and official names in three languages.
#[derive(Debug, Clone, Copy)]
pub struct RegionInfo {
    /// The id used in messages.
    pub region: Region,
    /// ISO 3166-2:KZ code.
    pub iso: &'static str,
    /// The ADM1 P-code in the boundary file the geometry is derived from.
    pub adm1_pcode: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// Russian name.
    pub name_ru: &'static str,
    /// Kazakh name (Cyrillic).
    pub name_kk: &'static str,
}

macro_rules! info {
    ($r:ident, $iso:literal, $p:literal, $en:literal, $ru:literal, $kk:literal) => {
        RegionInfo {
            region: Region::$r,
            iso: $iso,
            adm1_pcode: $p,
            name_en: $en,
            name_ru: $ru,
            name_kk: $kk,
        }
    };
}

/// The 20 regions' simplified boundaries (GeoJSON FeatureCollection), derived from the public ADM1 file; see core/data/ATTRIBUTION.md.
pub const REGIONS_GEOJSON: &str = include_str!("../data/kz-regions.geojson");

/// The 20 regions, in the order of their ADM1 P-codes.
pub const REGIONS: [RegionInfo; 20] = [
    info!(
        Abai,
        "KZ-10", "KAZ001", "Abai Region", "Абайская область", "Абай облысы"
    ),
    info!(
        Akmola,
        "KZ-11", "KAZ002", "Akmola Region", "Акмолинская область", "Ақмола облысы"
    ),
    info!(
        Aktobe,
        "KZ-15", "KAZ003", "Aktobe Region", "Актюбинская область", "Ақтөбе облысы"
    ),
    info!(Almaty, "KZ-75", "KAZ004", "Almaty", "Алматы", "Алматы"),
    info!(
        AlmatyRegion,
        "KZ-19", "KAZ005", "Almaty Region", "Алматинская область", "Алматы облысы"
    ),
    info!(Astana, "KZ-71", "KAZ006", "Astana", "Астана", "Астана"),
    info!(
        Atyrau,
        "KZ-23", "KAZ007", "Atyrau Region", "Атырауская область", "Атырау облысы"
    ),
    info!(
        EastKazakhstan,
        "KZ-63",
        "KAZ008",
        "East Kazakhstan Region",
        "Восточно-Казахстанская область",
        "Шығыс Қазақстан облысы"
    ),
    info!(
        Jambyl,
        "KZ-31", "KAZ009", "Jambyl Region", "Жамбылская область", "Жамбыл облысы"
    ),
    info!(
        Jetisu,
        "KZ-33", "KAZ010", "Jetisu Region", "Жетысуская область", "Жетісу облысы"
    ),
    info!(
        Karaganda,
        "KZ-35", "KAZ011", "Karaganda Region", "Карагандинская область", "Қарағанды облысы"
    ),
    info!(
        Kostanay,
        "KZ-39", "KAZ012", "Kostanay Region", "Костанайская область", "Қостанай облысы"
    ),
    info!(
        Kyzylorda,
        "KZ-43", "KAZ013", "Kyzylorda Region", "Кызылординская область", "Қызылорда облысы"
    ),
    info!(
        Mangystau,
        "KZ-47", "KAZ014", "Mangystau Region", "Мангистауская область", "Маңғыстау облысы"
    ),
    info!(
        NorthKazakhstan,
        "KZ-59",
        "KAZ015",
        "North Kazakhstan Region",
        "Северо-Казахстанская область",
        "Солтүстік Қазақстан облысы"
    ),
    info!(
        Pavlodar,
        "KZ-55", "KAZ016", "Pavlodar Region", "Павлодарская область", "Павлодар облысы"
    ),
    info!(
        Shymkent,
        "KZ-79", "KAZ017", "Shymkent", "Шымкент", "Шымкент"
    ),
    info!(
        Turkistan,
        "KZ-61", "KAZ018", "Turkistan Region", "Туркестанская область", "Түркістан облысы"
    ),
    info!(
        Ulytau,
        "KZ-62", "KAZ019", "Ulytau Region", "Улытауская область", "Ұлытау облысы"
    ),
    info!(
        WestKazakhstan,
        "KZ-27",
        "KAZ020",
        "West Kazakhstan Region",
        "Западно-Казахстанская область",
        "Батыс Қазақстан облысы"
    ),
];

impl Region {
    /// The id as written on the wire (`east_kazakhstan`, `unknown`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Region::Abai => "abai",
            Region::Akmola => "akmola",
            Region::Aktobe => "aktobe",
            Region::Almaty => "almaty",
            Region::AlmatyRegion => "almaty_region",
            Region::Astana => "astana",
            Region::Atyrau => "atyrau",
            Region::EastKazakhstan => "east_kazakhstan",
            Region::Jambyl => "jambyl",
            Region::Jetisu => "jetisu",
            Region::Karaganda => "karaganda",
            Region::Kostanay => "kostanay",
            Region::Kyzylorda => "kyzylorda",
            Region::Mangystau => "mangystau",
            Region::NorthKazakhstan => "north_kazakhstan",
            Region::Pavlodar => "pavlodar",
            Region::Shymkent => "shymkent",
            Region::Turkistan => "turkistan",
            Region::Ulytau => "ulytau",
            Region::WestKazakhstan => "west_kazakhstan",
            Region::Unknown => "unknown",
        }
    }

    /// The static facts for a known region; `None` for `Unknown`.
    pub fn info(self) -> Option<&'static RegionInfo> {
        REGIONS.iter().find(|i| i.region == self)
    }

    /// Looks a region up by its ADM1 P-code (as in the boundary file).
    pub fn from_pcode(pcode: &str) -> Option<Region> {
        REGIONS
            .iter()
            .find(|i| i.adm1_pcode == pcode)
            .map(|i| i.region)
    }

    /// The 20 known regions, without `Unknown`.
    pub fn all() -> impl Iterator<Item = Region> {
        REGIONS.iter().map(|i| i.region)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Region {
    type Err = String;
    /// Parses a wire id or an ISO 3166-2:KZ code.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("unknown") {
            return Ok(Region::Unknown);
        }
        REGIONS
            .iter()
            .find(|i| i.region.as_str().eq_ignore_ascii_case(t) || i.iso.eq_ignore_ascii_case(t))
            .map(|i| i.region)
            .ok_or_else(|| format!("unknown region id {t:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for i in REGIONS.iter() {
            assert!(seen.insert(i.region.as_str()));
            assert_eq!(i.region.as_str().parse::<Region>().unwrap(), i.region);
            assert_eq!(i.iso.parse::<Region>().unwrap(), i.region);
            let json = serde_json::to_string(&i.region).unwrap();
            assert_eq!(json, format!("\"{}\"", i.region.as_str()));
        }
        assert_eq!(seen.len(), 20);
        assert!("atlantis".parse::<Region>().is_err());
    }

    #[test]
    fn boundary_file_has_each_region_once() {
        let v: serde_json::Value = serde_json::from_str(REGIONS_GEOJSON).unwrap();
        assert_eq!(v["type"], "FeatureCollection");
        let feats = v["features"].as_array().unwrap();
        assert_eq!(feats.len(), 20);
        let mut seen = std::collections::HashSet::new();
        for f in feats {
            let id = f["properties"]["region"].as_str().unwrap();
            let r: Region = id.parse().unwrap();
            assert_ne!(r, Region::Unknown);
            assert!(seen.insert(r), "{id} twice");
            let info = r.info().unwrap();
            assert_eq!(f["properties"]["pcode"], info.adm1_pcode);
            assert_eq!(f["properties"]["iso"], info.iso);
        }
        assert_eq!(seen.len(), 20);
    }
}
