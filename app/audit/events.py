"""DICOM audit vocabulary (PS3.15 A.5.3 / PS3.16 CID 400-403): event IDs, event types, codes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AuditEvent:
    """A coded audit event (scheme DCM)."""

    code: str
    name: str


APPLICATION_ACTIVITY = AuditEvent("110100", "Application Activity")
AUDIT_LOG_USED = AuditEvent("110101", "Audit Log Used")
BEGIN_TRANSFERRING = AuditEvent("110102", "Begin Transferring DICOM Instances")
INSTANCES_ACCESSED = AuditEvent("110103", "DICOM Instances Accessed")
INSTANCES_TRANSFERRED = AuditEvent("110104", "DICOM Instances Transferred")
STUDY_DELETED = AuditEvent("110105", "DICOM Study Deleted")
EXPORT = AuditEvent("110106", "Export")
IMPORT = AuditEvent("110107", "Import")
NETWORK_ENTRY = AuditEvent("110108", "Network Entry")
ORDER_RECORD = AuditEvent("110109", "Order Record")
PATIENT_RECORD = AuditEvent("110110", "Patient Record")
PROCEDURE_RECORD = AuditEvent("110111", "Procedure Record")
QUERY = AuditEvent("110112", "Query")
SECURITY_ALERT = AuditEvent("110113", "Security Alert")
USER_AUTHENTICATION = AuditEvent("110114", "User Authentication")

EVENTS = {e.code: e for e in (
    APPLICATION_ACTIVITY, AUDIT_LOG_USED, BEGIN_TRANSFERRING, INSTANCES_ACCESSED, INSTANCES_TRANSFERRED,
    STUDY_DELETED, EXPORT, IMPORT, NETWORK_ENTRY, ORDER_RECORD, PATIENT_RECORD, PROCEDURE_RECORD, QUERY,
    SECURITY_ALERT, USER_AUTHENTICATION,
)}

# Event Type Codes (PS3.15 A.5.3, CID 401-403) refining some events above.
APPLICATION_START = AuditEvent("110120", "Application Start")
APPLICATION_STOP = AuditEvent("110121", "Application Stop")
LOGIN = AuditEvent("110122", "Login")
LOGOUT = AuditEvent("110123", "Logout")
NODE_AUTHENTICATION = AuditEvent("110126", "Node Authentication")
EMERGENCY_OVERRIDE_STARTED = AuditEvent("110127", "Emergency Override Started")
NETWORK_CONFIGURATION = AuditEvent("110128", "Network Configuration")
SECURITY_CONFIGURATION = AuditEvent("110129", "Security Configuration")
SOFTWARE_CONFIGURATION = AuditEvent("110131", "Software Configuration")
USE_OF_RESTRICTED_FUNCTION = AuditEvent("110132", "Use of Restricted Function")
AUDIT_RECORDING_STOPPED = AuditEvent("110133", "Audit Recording Stopped")
AUDIT_RECORDING_STARTED = AuditEvent("110134", "Audit Recording Started")
OBJECT_SECURITY_ATTRIBUTES_CHANGED = AuditEvent("110135", "Object Security Attributes Changed")

# Event Action Codes and Event Outcome Indicators (RFC 3881 / PS3.15 A.5.1).
ACTION_CREATE, ACTION_READ, ACTION_UPDATE, ACTION_DELETE, ACTION_EXECUTE = "C", "R", "U", "D", "E"
ACTIONS = frozenset("CRUDE")
OUTCOME_SUCCESS, OUTCOME_MINOR_FAILURE, OUTCOME_SERIOUS_FAILURE, OUTCOME_MAJOR_FAILURE = 0, 4, 8, 12
OUTCOMES = frozenset({0, 4, 8, 12})
