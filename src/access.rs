//! Who may do what: the one place where SPEC.md's role table becomes code.

use crate::ids::UserId;
use crate::user::{Role, User};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Create users, change roles, deactivate, reset passwords.
    ManageUsers,
    /// Read the audit log.
    ViewAudit,
    /// Register seizures and pre-register their samples (field or lab counter).
    RegisterSeizure,
    /// Find and read seizures, samples and their custody history.
    ViewCases,
    /// Physical work at the lab: receipt, custody events, labels, results.
    HandleSamples,
    /// Assign tests, review results, issue reports, instrument calibration.
    Supervise,
    /// Reference data: methods, instruments, storage locations, tariff import.
    ManageCatalogue,
    /// Read the method catalogue and the instruments with their calibration state.
    ViewLabRecords,
    /// Take an instrument out of service (with a reason) or back into service.
    ChangeInstrumentStatus,
    /// The lab's own records of a case: tests and results before review, draft reports,
    /// raw data. Customs officers read issued reports only (the portal).
    ViewLabResults,
}

pub fn allows(role: Role, permission: Permission) -> bool {
    use Permission::*;
    use Role::*;
    match permission {
        ManageUsers | ViewAudit | ManageCatalogue => role == Admin,
        RegisterSeizure | ViewCases => matches!(role, Enforcement | Technician | Supervisor),
        HandleSamples => matches!(role, Technician | Supervisor),
        Supervise => role == Supervisor,
        ViewLabRecords => matches!(role, Technician | Supervisor | Admin),
        ChangeInstrumentStatus => matches!(role, Supervisor | Admin),
        ViewLabResults => matches!(role, Technician | Supervisor),
    }
}

/// Whether `user` may see, print and download the labels of a seizure's samples: the lab's
/// sample handlers for any seizure, a customs officer only for the seizures they registered
/// (their bags leave the border post labelled; other posts' seizures are not theirs to print).
pub fn may_print_labels(user: &User, registered_by: &UserId) -> bool {
    allows(user.role, Permission::HandleSamples)
        || (user.role == Role::Enforcement && &user.id == registered_by)
}

/// The i18n key of the refusal `may_print_labels` gives.
pub const REFUSED_LABELS: &str = "errors.forbidden.print_labels";

/// The i18n key explaining a refusal, shown on the 403 page.
pub fn refusal_reason(permission: Permission) -> &'static str {
    match permission {
        Permission::ManageUsers => "errors.forbidden.manage_users",
        Permission::ViewAudit => "errors.forbidden.view_audit",
        Permission::RegisterSeizure => "errors.forbidden.register_seizure",
        Permission::ViewCases => "errors.forbidden.view_cases",
        Permission::HandleSamples => "errors.forbidden.handle_samples",
        Permission::Supervise => "errors.forbidden.supervise",
        Permission::ManageCatalogue => "errors.forbidden.manage_catalogue",
        Permission::ViewLabRecords => "errors.forbidden.view_lab_records",
        Permission::ChangeInstrumentStatus => "errors.forbidden.change_instrument_status",
        Permission::ViewLabResults => "errors.forbidden.view_lab_results",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_table_of_spec() {
        assert!(allows(Role::Admin, Permission::ManageUsers));
        assert!(!allows(Role::Supervisor, Permission::ManageUsers));
        assert!(allows(Role::Enforcement, Permission::RegisterSeizure));
        assert!(!allows(Role::Enforcement, Permission::HandleSamples));
        assert!(allows(Role::Technician, Permission::HandleSamples));
        assert!(!allows(Role::Technician, Permission::Supervise));
        assert!(allows(Role::Supervisor, Permission::Supervise));
        assert!(!allows(Role::Admin, Permission::HandleSamples));
        assert!(allows(Role::Enforcement, Permission::ViewCases));
        assert!(!allows(Role::Admin, Permission::ViewCases));
        // Lab records: the admin keeps the catalogue, the supervisor calibration and people,
        // technicians read methods and instruments; customs officers see none of it.
        assert!(allows(Role::Admin, Permission::ManageCatalogue));
        assert!(!allows(Role::Supervisor, Permission::ManageCatalogue));
        assert!(!allows(Role::Technician, Permission::ManageCatalogue));
        assert!(!allows(Role::Admin, Permission::Supervise));
        for role in [Role::Technician, Role::Supervisor, Role::Admin] {
            assert!(allows(role, Permission::ViewLabRecords), "{role:?}");
        }
        assert!(!allows(Role::Enforcement, Permission::ViewLabRecords));
        assert!(allows(Role::Supervisor, Permission::ChangeInstrumentStatus));
        assert!(allows(Role::Admin, Permission::ChangeInstrumentStatus));
        assert!(!allows(
            Role::Technician,
            Permission::ChangeInstrumentStatus
        ));
        assert!(!allows(
            Role::Enforcement,
            Permission::ChangeInstrumentStatus
        ));
        // Results before review, drafts and raw data stay in the lab.
        assert!(allows(Role::Technician, Permission::ViewLabResults));
        assert!(allows(Role::Supervisor, Permission::ViewLabResults));
        assert!(!allows(Role::Enforcement, Permission::ViewLabResults));
        assert!(!allows(Role::Admin, Permission::ViewLabResults));
    }
}
