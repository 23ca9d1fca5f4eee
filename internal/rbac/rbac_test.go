package rbac

import "testing"

func TestPermissions(t *testing.T) {
	if !CommunityWorker.Can(ResidentRead) || Checkpoint.Can(ResidentRead) || Resident.Can(ResidentRead) {
		t.Error("resident-read permission wrong")
	}
	if Admin.Can(ResidentRead) {
		t.Error("admin should not read personal records")
	}
	if Role("nobody").Valid() || Role("nobody").Can(StatsRead) {
		t.Error("unknown role has permissions")
	}
	if Auditor.Can(0) {
		t.Error("empty permission set should never be granted")
	}
	for _, r := range StaffRoles {
		if !r.IsStaff() || r.Permissions() == 0 {
			t.Errorf("staff role %s has no permissions", r)
		}
	}
}

func TestCanGrant(t *testing.T) {
	if !CanGrant(Admin, Epidemiologist) || !CanGrant(Admin, Admin) {
		t.Error("admin cannot grant staff roles")
	}
	if CanGrant(Epidemiologist, Checkpoint) || CanGrant(Admin, Resident) || CanGrant(Admin, "x") {
		t.Error("grant allowed that must not be")
	}
	if !CanIssueToken(Admin, LabTechnician) || CanIssueToken(Admin, Admin) || CanIssueToken(Auditor, LabTechnician) {
		t.Error("token issue rule wrong")
	}
}

func TestPermissionNames(t *testing.T) {
	if got := (ResidentRead | CaseWrite).String(); got != "resident_read+case_write" {
		t.Errorf("String = %q", got)
	}
	if got := AreaRiskWrite.String(); got != "area_risk_write" {
		t.Errorf("the last permission is named %q: permNames is out of step with the constants", got)
	}
}
