// Package rbac names the platform's roles, what each may do, and who is acting.
package rbac

import (
	"slices"
	"strings"
)

// Role is what an account is for. Residents hold their own health data;
// every other role is staff, scoped to a jurisdiction subtree.
type Role string

const (
	Resident        Role = "resident"
	Checkpoint      Role = "checkpoint"
	CommunityWorker Role = "community_worker"
	Clinician       Role = "clinician"
	LabTechnician   Role = "lab_technician"
	Epidemiologist  Role = "epidemiologist"
	Commander       Role = "commander"
	Auditor         Role = "auditor"
	Admin           Role = "admin"
)

// StaffRoles lists every staff role, in the order the pages show them.
var StaffRoles = []Role{Checkpoint, CommunityWorker, Clinician, LabTechnician, Epidemiologist, Commander, Auditor, Admin}

// TokenRoles are the roles an API token for a machine client (a lab's or a
// hospital's system) may carry.
var TokenRoles = []Role{LabTechnician, Clinician}

// Permission is one thing an account may do; a role holds a set of them.
type Permission uint64

const (
	// ResidentRead reads a person's record in scope (each read is logged).
	ResidentRead Permission = 1 << iota
	// ResidentWrite registers residents and dependents in scope.
	ResidentWrite
	// StatsRead sees aggregate figures for the scope.
	StatsRead
	// AccessLogRead reads the log of staff reads of personal records.
	AccessLogRead
	// StaffManage creates, disables and re-roles staff accounts in scope.
	StaffManage
	// JurisdictionManage adds and renames jurisdictions in scope.
	JurisdictionManage
	// TokenManage issues and revokes API tokens for machine clients.
	TokenManage
	// PassVerify verifies health passes at a checkpoint.
	PassVerify
	// LabResultWrite submits test results.
	LabResultWrite
	// CaseWrite records case and contact status.
	CaseWrite
	// ClinicalWrite records clinical data.
	ClinicalWrite
	// AreaRiskWrite sets the risk level of areas.
	AreaRiskWrite
)

var permNames = []string{"resident_read", "resident_write", "stats_read", "access_log_read", "staff_manage",
	"jurisdiction_manage", "token_manage", "pass_verify", "lab_result_write", "case_write", "clinical_write", "area_risk_write"}

// String names the permissions in p, joined by "+".
func (p Permission) String() string {
	var names []string
	for i, n := range permNames {
		if p&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, "+")
}

var rolePerms = map[Role]Permission{
	Resident:        0,
	Checkpoint:      PassVerify,
	CommunityWorker: ResidentRead | ResidentWrite | StatsRead,
	Clinician:       ResidentRead | ClinicalWrite,
	LabTechnician:   LabResultWrite,
	Epidemiologist:  ResidentRead | CaseWrite | StatsRead,
	Commander:       StatsRead | AreaRiskWrite,
	Auditor:         AccessLogRead | StatsRead,
	Admin:           StaffManage | JurisdictionManage | TokenManage | StatsRead,
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool { _, ok := rolePerms[r]; return ok }

// IsStaff reports whether r is a staff role.
func (r Role) IsStaff() bool { return r.Valid() && r != Resident }

// Permissions returns the permissions r holds.
func (r Role) Permissions() Permission { return rolePerms[r] }

// Can reports whether r holds every permission in p.
func (r Role) Can(p Permission) bool { return p != 0 && rolePerms[r]&p == p }

// CanGrant reports whether an account of role actor may give an account the
// role target. Staff managers grant staff roles; only an admin makes an admin.
// (Where they may grant it — their own subtree — the caller checks.)
func CanGrant(actor, target Role) bool {
	if !actor.Can(StaffManage) || !target.IsStaff() {
		return false
	}
	return target != Admin || actor == Admin
}

// CanIssueToken reports whether actor may issue a token with role target.
func CanIssueToken(actor, target Role) bool {
	return actor.Can(TokenManage) && slices.Contains(TokenRoles, target)
}

// Actor is whoever is acting: a signed-in account or an API client.
type Actor struct {
	AccountID int64
	Name      string
	Role      Role
	// ResidentID is the resident an account of role Resident belongs to.
	ResidentID int64
	// JurisdictionID and ScopePath bound what staff see: the subtree whose
	// path starts with ScopePath.
	JurisdictionID int64
	ScopePath      string
	// TokenID is set when the actor is an API token.
	TokenID int64
}

// Can reports whether the actor's role holds p.
func (a Actor) Can(p Permission) bool { return a.Role.Can(p) }
