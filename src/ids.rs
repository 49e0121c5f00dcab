//! Typed ids: UUID text on both backends, and ids of different tables cannot be mixed up.

macro_rules! id_type {
    ($($name:ident),* $(,)?) => {$(
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize, diesel_derive_newtype::DieselNewType,
        )]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// A new time-ordered (v7) id, so inserts stay local in indexes.
            pub fn new_v7() -> Self {
                $name(uuid::Uuid::now_v7().to_string())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                $name(s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}

id_type!(
    UserId,
    AuditId,
    LoginAttemptId,
    ApiTokenId,
    SeizureId,
    SampleId,
    CustodyEventId,
    StorageLocationId,
    CustodyVerificationId,
);
