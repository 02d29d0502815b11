//! Bedrock's PII entity types, and which of them this plugin detects.

macro_rules! pii_types {
    ($($variant:ident = $name:literal),* $(,)?) => {
        /// A PII entity type of Bedrock's `piiEntitiesConfig[].type` enum.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        pub enum PiiType {
            $($variant),*
        }

        impl PiiType {
            /// Every type Bedrock accepts, in its documentation's order.
            pub const ALL: &'static [PiiType] = &[$(PiiType::$variant),*];
            /// How many types there are.
            pub const COUNT: usize = [$($name),*].len();

            /// Bedrock's name for the type, e.g. `EMAIL`.
            pub fn name(self) -> &'static str {
                match self {
                    $(PiiType::$variant => $name),*
                }
            }

            /// The type named `name` (exactly as Bedrock spells it).
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($name => Some(PiiType::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

pii_types! {
    ADDRESS = "ADDRESS",
    AGE = "AGE",
    AWS_ACCESS_KEY = "AWS_ACCESS_KEY",
    AWS_SECRET_KEY = "AWS_SECRET_KEY",
    CA_HEALTH_NUMBER = "CA_HEALTH_NUMBER",
    CA_SOCIAL_INSURANCE_NUMBER = "CA_SOCIAL_INSURANCE_NUMBER",
    CREDIT_DEBIT_CARD_CVV = "CREDIT_DEBIT_CARD_CVV",
    CREDIT_DEBIT_CARD_EXPIRY = "CREDIT_DEBIT_CARD_EXPIRY",
    CREDIT_DEBIT_CARD_NUMBER = "CREDIT_DEBIT_CARD_NUMBER",
    DRIVER_ID = "DRIVER_ID",
    EMAIL = "EMAIL",
    INTERNATIONAL_BANK_ACCOUNT_NUMBER = "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
    IP_ADDRESS = "IP_ADDRESS",
    LICENSE_PLATE = "LICENSE_PLATE",
    MAC_ADDRESS = "MAC_ADDRESS",
    NAME = "NAME",
    PASSWORD = "PASSWORD",
    PHONE = "PHONE",
    PIN = "PIN",
    SWIFT_CODE = "SWIFT_CODE",
    UK_NATIONAL_HEALTH_SERVICE_NUMBER = "UK_NATIONAL_HEALTH_SERVICE_NUMBER",
    UK_NATIONAL_INSURANCE_NUMBER = "UK_NATIONAL_INSURANCE_NUMBER",
    UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER = "UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER",
    URL = "URL",
    USERNAME = "USERNAME",
    US_BANK_ACCOUNT_NUMBER = "US_BANK_ACCOUNT_NUMBER",
    US_BANK_ROUTING_NUMBER = "US_BANK_ROUTING_NUMBER",
    US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER = "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER",
    US_PASSPORT_NUMBER = "US_PASSPORT_NUMBER",
    US_SOCIAL_SECURITY_NUMBER = "US_SOCIAL_SECURITY_NUMBER",
    VEHICLE_IDENTIFICATION_NUMBER = "VEHICLE_IDENTIFICATION_NUMBER",
}

/// The types this plugin detects. The others (names, addresses, driver IDs, licence plates,
/// Canadian health numbers) need a model to find honestly: they are accepted in a config and
/// never reported. Keep `README.md` in step with this list.
pub const DETECTED: &[PiiType] = &[
    PiiType::AGE,
    PiiType::AWS_ACCESS_KEY,
    PiiType::AWS_SECRET_KEY,
    PiiType::CA_SOCIAL_INSURANCE_NUMBER,
    PiiType::CREDIT_DEBIT_CARD_CVV,
    PiiType::CREDIT_DEBIT_CARD_EXPIRY,
    PiiType::CREDIT_DEBIT_CARD_NUMBER,
    PiiType::EMAIL,
    PiiType::INTERNATIONAL_BANK_ACCOUNT_NUMBER,
    PiiType::IP_ADDRESS,
    PiiType::MAC_ADDRESS,
    PiiType::PASSWORD,
    PiiType::PHONE,
    PiiType::PIN,
    PiiType::SWIFT_CODE,
    PiiType::UK_NATIONAL_HEALTH_SERVICE_NUMBER,
    PiiType::UK_NATIONAL_INSURANCE_NUMBER,
    PiiType::UK_UNIQUE_TAXPAYER_REFERENCE_NUMBER,
    PiiType::URL,
    PiiType::USERNAME,
    PiiType::US_BANK_ACCOUNT_NUMBER,
    PiiType::US_BANK_ROUTING_NUMBER,
    PiiType::US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER,
    PiiType::US_PASSPORT_NUMBER,
    PiiType::US_SOCIAL_SECURITY_NUMBER,
    PiiType::VEHICLE_IDENTIFICATION_NUMBER,
];
