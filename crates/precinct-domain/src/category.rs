//! The station's incident code table: category codes, their families, the
//! shipped table, and priorities. A leaf of the domain: the ground (which
//! holds a station's table), incidents and disputes all use it.

use crate::error::DomainError;
use crate::text::string_enum;
use serde::{Deserialize, Serialize};

string_enum! {
    /// The family a category belongs to; statistics and duplicate detection
    /// work on families.
    pub enum CategoryFamily {
        Criminal = "criminal",
        PublicOrder = "public_order",
        Dispute = "dispute",
        HelpRequest = "help_request",
        DomesticViolence = "domestic_violence",
        Traffic = "traffic",
        Fire = "fire",
        Other = "other",
    }
}

/// A code of the station's incident code table (e.g. `theft`): letters,
/// digits, `_`, `-` and `.`, 1 to 40 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CategoryCode(String);

impl CategoryCode {
    pub fn parse(text: &str) -> Result<CategoryCode, DomainError> {
        let text = text.trim();
        if text.is_empty()
            || text.len() > 40
            || !text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(DomainError::invalid(
                "category",
                format!("{text:?} is not a category code (1 to 40 of a-z, 0-9, _, -, .)"),
            ));
        }
        Ok(CategoryCode(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CategoryCode {
    type Error = DomainError;
    fn try_from(text: String) -> Result<Self, DomainError> {
        CategoryCode::parse(&text)
    }
}

impl From<CategoryCode> for String {
    fn from(code: CategoryCode) -> String {
        code.0
    }
}

impl std::fmt::Display for CategoryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What happened: a code of the station's incident code table, with the
/// family it belongs to (statistics and duplicate detection work on
/// families). Made from the table (`Jurisdiction::category`) or from a
/// stored row; so it is always a code the station has, or had.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Category {
    code: CategoryCode,
    family: CategoryFamily,
}

impl Category {
    pub fn new(code: CategoryCode, family: CategoryFamily) -> Category {
        Category { code, family }
    }

    pub fn code(&self) -> &CategoryCode {
        &self.code
    }

    pub fn as_str(&self) -> &str {
        self.code.as_str()
    }

    pub fn family(&self) -> CategoryFamily {
        self.family
    }

    /// This category if it is one of the shipped table's.
    pub fn shipped(&self) -> Option<DefaultCategory> {
        DefaultCategory::parse(self.as_str())
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<DefaultCategory> for Category {
    fn eq(&self, other: &DefaultCategory) -> bool {
        self.as_str() == other.as_str()
    }
}

impl From<DefaultCategory> for Category {
    fn from(category: DefaultCategory) -> Category {
        Category::new(
            CategoryCode(category.as_str().to_owned()),
            category.family(),
        )
    }
}

string_enum! {
    /// The incident code table Precinct ships: a station without its own
    /// table (or whose package gives none) uses it.
    pub enum DefaultCategory {
        Theft = "theft",
        Burglary = "burglary",
        FightAssault = "fight_assault",
        Robbery = "robbery",
        Fraud = "fraud",
        OtherCriminal = "other_criminal",
        PublicDisturbance = "public_disturbance",
        Gambling = "gambling",
        NeighbourNoiseDispute = "neighbour_noise_dispute",
        CommercialDebtDispute = "commercial_debt_dispute",
        FamilyDispute = "family_dispute",
        OtherDispute = "other_dispute",
        HelpRequest = "help_request",
        DomesticViolence = "domestic_violence",
        TrafficAccident = "traffic_accident",
        Fire = "fire",
        Other = "other",
    }
}

impl DefaultCategory {
    pub fn family(self) -> CategoryFamily {
        use DefaultCategory::*;
        match self {
            Theft | Burglary | FightAssault | Robbery | Fraud | OtherCriminal => {
                CategoryFamily::Criminal
            }
            PublicDisturbance | Gambling => CategoryFamily::PublicOrder,
            NeighbourNoiseDispute | CommercialDebtDispute | FamilyDispute | OtherDispute => {
                CategoryFamily::Dispute
            }
            HelpRequest => CategoryFamily::HelpRequest,
            DomesticViolence => CategoryFamily::DomesticViolence,
            TrafficAccident => CategoryFamily::Traffic,
            Fire => CategoryFamily::Fire,
            Other => CategoryFamily::Other,
        }
    }

    /// The category's name as the station says it.
    pub fn label_zh(self) -> &'static str {
        use DefaultCategory::*;
        match self {
            Theft => "盗窃",
            Burglary => "入室盗窃",
            FightAssault => "打架斗殴",
            Robbery => "抢劫抢夺",
            Fraud => "诈骗",
            OtherCriminal => "其他刑事",
            PublicDisturbance => "扰乱公共秩序",
            Gambling => "赌博",
            NeighbourNoiseDispute => "邻里噪音纠纷",
            CommercialDebtDispute => "经济货款纠纷",
            FamilyDispute => "家庭纠纷",
            OtherDispute => "其他纠纷",
            HelpRequest => "群众求助",
            DomesticViolence => "家暴",
            TrafficAccident => "交通事故",
            Fire => "火情",
            Other => "其他",
        }
    }

    pub fn label_en(self) -> &'static str {
        use DefaultCategory::*;
        match self {
            Theft => "Theft",
            Burglary => "Burglary",
            FightAssault => "Fight / assault",
            Robbery => "Robbery",
            Fraud => "Fraud",
            OtherCriminal => "Other criminal",
            PublicDisturbance => "Public disturbance",
            Gambling => "Gambling",
            NeighbourNoiseDispute => "Neighbour / noise dispute",
            CommercialDebtDispute => "Commercial / debt dispute",
            FamilyDispute => "Family dispute",
            OtherDispute => "Other dispute",
            HelpRequest => "Help request",
            DomesticViolence => "Domestic violence",
            TrafficAccident => "Traffic accident",
            Fire => "Fire",
            Other => "Other",
        }
    }

    /// The priority an incident of this category gets when none is given.
    pub fn default_priority(self) -> Priority {
        use DefaultCategory::*;
        let value = match self {
            FightAssault | Robbery | DomesticViolence | Fire => 1,
            Theft | Burglary | Fraud | OtherCriminal | PublicDisturbance | TrafficAccident => 2,
            Gambling | CommercialDebtDispute | FamilyDispute | HelpRequest => 3,
            NeighbourNoiseDispute | OtherDispute | Other => 3,
        };
        Priority::new(value).expect("1..=4")
    }
}

/// One entry of the station's incident code table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoryDef {
    pub code: CategoryCode,
    pub name_zh: String,
    pub name_en: String,
    pub family: CategoryFamily,
    pub default_priority: Priority,
}

impl CategoryDef {
    pub fn category(&self) -> Category {
        Category::new(self.code.clone(), self.family)
    }

    /// The shipped table.
    pub fn shipped() -> Vec<CategoryDef> {
        DefaultCategory::ALL
            .iter()
            .map(|c| CategoryDef {
                code: CategoryCode(c.as_str().to_owned()),
                name_zh: c.label_zh().to_owned(),
                name_en: c.label_en().to_owned(),
                family: c.family(),
                default_priority: c.default_priority(),
            })
            .collect()
    }
}

/// 1 is the most urgent, 4 the least.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Priority(u8);

impl Priority {
    pub const HIGHEST: Priority = Priority(1);
    pub const LOWEST: Priority = Priority(4);

    pub fn new(value: i64) -> Result<Priority, DomainError> {
        match u8::try_from(value) {
            Ok(v @ 1..=4) => Ok(Priority(v)),
            _ => Err(DomainError::invalid(
                "priority",
                format!("{value} is not 1 (highest) to 4 (lowest)"),
            )),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Priority {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Priority::new(i64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}
