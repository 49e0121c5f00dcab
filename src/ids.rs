//! Typed ids: UUID text on both backends, so ids of different tables cannot be mixed up, and
//! an id taken from a URL or a form is a UUID or nothing (a handler taking `Path<SampleId>`
//! answers 404 to anything else before it runs).

macro_rules! id_type {
    ($($name:ident),* $(,)?) => {$(
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, diesel_derive_newtype::DieselNewType,
        )]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// A new time-ordered (v7) id, so inserts stay local in indexes.
            pub fn new_v7() -> Self {
                $name(uuid::Uuid::now_v7().to_string())
            }

            /// The id in `text` if it is a UUID (in its canonical lower-case form).
            pub fn parse(text: &str) -> Option<Self> {
                uuid::Uuid::parse_str(text.trim())
                    .ok()
                    .map(|u| $name(u.hyphenated().to_string()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&text).ok_or_else(|| {
                    serde::de::Error::custom(concat!("not a valid ", stringify!($name)))
                })
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
    SessionId,
    CustodyVerificationId,
    MethodId,
    MethodVersionId,
    InstrumentId,
    CalibrationId,
    MaintenanceId,
    TrainingRecordId,
    AuthorizationId,
    AttachmentId,
    AttachmentWithdrawalId,
    AnalysisId,
    ReportId,
    ReportVersionId,
    ReportSignatureId,
    LabSettingsId,
    ResultEntryId,
    ObservationId,
    InstrumentUseId,
    ReportVerificationId,
);

#[cfg(test)]
mod tests {
    use super::SampleId;

    #[test]
    fn ids_are_uuids_or_nothing() {
        let id = SampleId::new_v7();
        assert_eq!(SampleId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(
            SampleId::parse(&id.as_str().to_uppercase()),
            Some(id.clone())
        );
        assert_eq!(SampleId::parse("1; DROP TABLE samples"), None);
        let json = format!("\"{id}\"");
        assert_eq!(serde_json::from_str::<SampleId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<SampleId>("\"x\"").is_err());
    }
}
