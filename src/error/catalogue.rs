//! What each problem `code` means and what a client does about it: the pages at
//! `/docs/problems/{code}` that every problem's `type` URI leads to.

/// One problem type.
pub struct ProblemType {
    pub code: &'static str,
    pub status: u16,
    /// What happened, in one sentence.
    pub meaning: &'static str,
    /// What the client does next.
    pub remedy: &'static str,
}

const fn t(
    code: &'static str,
    status: u16,
    meaning: &'static str,
    remedy: &'static str,
) -> ProblemType {
    ProblemType {
        code,
        status,
        meaning,
        remedy,
    }
}

/// Every code the service answers with, in order of status.
pub const PROBLEM_TYPES: &[ProblemType] = &[
    t(
        "malformed_request",
        400,
        "A header, path, query parameter or body could not be read: invalid JSON, an unknown or \
         mistyped query parameter, a malformed If-Match, a NUL character.",
        "Fix the request as `detail` says; sending it again unchanged gives the same answer.",
    ),
    t(
        "missing_token",
        401,
        "The operation needs a bearer access token and none was sent.",
        "Log in (`POST /api/v1/auth/login`) and send `Authorization: Bearer <access_token>`.",
    ),
    t(
        "invalid_token",
        401,
        "The access token is malformed, expired, signed by an unknown key or belongs to a \
         disabled account.",
        "Exchange the refresh token for a new pair (`POST /api/v1/auth/refresh`), or log in again.",
    ),
    t(
        "invalid_refresh_token",
        401,
        "The refresh token is unknown, expired or revoked (by logout, a password change or a \
         disabled account).",
        "Log in again.",
    ),
    t(
        "refresh_token_reused",
        401,
        "A refresh token was presented a second time. Each is good for one exchange, so a second \
         use means a copy may exist: every session descending from that login was ended.",
        "Log in again, and make sure only one component of the client refreshes tokens.",
    ),
    t(
        "invalid_credentials",
        401,
        "The e-mail or the password is wrong (which one is not said).",
        "Check both; repeated failures are throttled (`too_many_requests`).",
    ),
    t(
        "forbidden",
        403,
        "Your role may not do this (for example an enterprise member submitting, or a reviewer \
         reviewing their own enterprise).",
        "Ask a user with the right role; `detail` names it.",
    ),
    t(
        "not_found",
        404,
        "No such resource, or it belongs to another enterprise or lies outside your scope: the \
         two are not told apart.",
        "Check the identifier and the account you use.",
    ),
    t(
        "method_not_allowed",
        405,
        "The resource exists but does not take this method.",
        "Use one of the methods in the `Allow` header.",
    ),
    t(
        "already_exists",
        409,
        "Something with the same unique identity exists (an e-mail, a credit code, a draft).",
        "Read the existing one instead of creating another.",
    ),
    t(
        "reference_conflict",
        409,
        "The change refers to something that is not there or no longer fits.",
        "Read the referenced resources again; `detail` names the reference.",
    ),
    t(
        "already_approved",
        409,
        "The submission was approved already; its certificate stands.",
        "Read the certificate (`GET /api/v1/certificates`).",
    ),
    t(
        "already_claimed",
        409,
        "You have claimed this submission already.",
        "Go on with the review.",
    ),
    t(
        "not_claimable",
        409,
        "The submission is not waiting for a reviewer.",
        "Read its status; only submitted ones can be claimed.",
    ),
    t(
        "claimed_by_another",
        409,
        "Another reviewer holds this review.",
        "Pick another submission from the queue.",
    ),
    t(
        "enterprise_unverified",
        409,
        "The enterprise's business licence has not been checked, so it cannot be certified.",
        "Verify the enterprise (`POST /api/v1/enterprises/{id}/verify`) with the licence file.",
    ),
    t(
        "invalid_transition",
        409,
        "The resource's current status does not allow this step (for example withdrawing an \
         approved submission, or reinstating a revoked certificate).",
        "Read the resource's status; `detail` names it.",
    ),
    t(
        "personal_data_erased",
        409,
        "The consumer's contact and words of this complaint were erased after the retention \
         period (CSR_COMPLAINT_RETENTION_DAYS after closing, or CSR_COMPLAINT_IDLE_DAYS without any \
         step on a complaint never closed); the complaint's figures remain.",
        "Nothing to retrieve: the service keeps no copy. The complaint itself can still be read.",
    ),
    t(
        "not_on_case",
        409,
        "The consumer's personal data of a complaint is read only by the enterprise's users and \
         the association staff member on the case, and another staff member is on it (or none).",
        "Take the case first (`POST /api/v1/complaints/{id}/take`, recorded in the audit log), \
         then read it.",
    ),
    t(
        "not_editable",
        409,
        "The submission is no longer a draft or returned, so its answers and evidence are fixed.",
        "Ask the reviewer to return it, or start a new self-assessment.",
    ),
    t(
        "not_published",
        409,
        "The schema version is a draft or retired; self-assessments use published versions.",
        "List the versions and use a published one.",
    ),
    t(
        "not_under_review",
        409,
        "The submission is not under review, so there is nothing to decide.",
        "Claim it first, or read its status.",
    ),
    t(
        "own_account",
        409,
        "Administrators may not disable their own account.",
        "Ask another administrator.",
    ),
    t(
        "schema_changed",
        409,
        "The schema version changed since the submission began.",
        "Upgrade the submission (`POST /api/v1/submissions/{id}/upgrade`).",
    ),
    t(
        "second_approver_required",
        409,
        "The level needs a second reviewer's approval (four eyes); yours was recorded.",
        "Another reviewer approves.",
    ),
    t(
        "version_exists",
        409,
        "A schema version with this name exists.",
        "Choose another version name.",
    ),
    t(
        "version_immutable",
        409,
        "Published and retired schema versions never change.",
        "Create a new draft version.",
    ),
    t(
        "certificate_number_taken",
        409,
        "Two approvals drew the same certificate number at the same moment.",
        "The service retries by itself; if you see this, repeat the approval.",
    ),
    t(
        "precondition_failed",
        412,
        "The `If-Match` ETag is not the current one: someone (or an earlier request of yours) \
         changed the resource since you read it.",
        "Read the resource again, reapply your change, and send the new ETag.",
    ),
    t(
        "payload_too_large",
        413,
        "The body exceeds the size limit of this operation.",
        "Send less: split a batch, or a smaller evidence file.",
    ),
    t(
        "evidence_quota_exceeded",
        413,
        "The enterprise's evidence storage quota would be exceeded.",
        "Delete evidence no longer needed from editable submissions.",
    ),
    t(
        "unsupported_media_type",
        415,
        "The body's media type is not one this operation takes (evidence is PDF, PNG or JPEG, \
         checked by content).",
        "Send a type the operation lists.",
    ),
    t(
        "validation_failed",
        422,
        "The request is well-formed but some fields are invalid; `errors` names each field.",
        "Correct each field in `errors` and send again.",
    ),
    t(
        "evidence_requested",
        422,
        "A reviewer's request for evidence is still open.",
        "The enterprise answers the request; the reviewer then decides.",
    ),
    t(
        "idempotency_key_reused",
        422,
        "The `Idempotency-Key` was used before with a different request.",
        "Use a new key for a new request; repeat a request only with its own key.",
    ),
    t(
        "not_certifiable",
        422,
        "The reviewed answers do not reach a certifiable level: a red line or legal duty is \
         short of full points.",
        "Return the submission to the enterprise, or reject it.",
    ),
    t(
        "submission_incomplete",
        422,
        "Required criteria are unanswered or lack evidence; `errors` names each.",
        "Answer them and attach the evidence, then submit again.",
    ),
    t(
        "verdicts_required",
        422,
        "The reviewer has not recorded a verdict on every red line and legal duty; `errors` \
         names each.",
        "Record the missing verdicts, then decide.",
    ),
    t(
        "precondition_required",
        428,
        "The write needs `If-Match` with the resource's ETag, so that no one's change is lost.",
        "Read the resource, then send its `ETag` as `If-Match`.",
    ),
    t(
        "too_many_requests",
        429,
        "Too many attempts (logins, registrations) from this address or for this account.",
        "Wait the seconds in `Retry-After`.",
    ),
    t(
        "internal_error",
        500,
        "An error in the service. It was logged with the request id.",
        "Quote the `request_id` to the operator; retrying will most likely fail the same way.",
    ),
    t(
        "service_unavailable",
        503,
        "The database is unreachable or overloaded for a moment.",
        "Retry after `Retry-After` seconds.",
    ),
    t(
        "busy",
        503,
        "Too many documents are being rendered at once.",
        "Retry after `Retry-After` seconds.",
    ),
    t(
        "insufficient_storage",
        507,
        "The evidence store is out of space; nothing was stored.",
        "Retry later; the operator has been alerted by the log.",
    ),
];

/// The problem type of `code`.
pub fn problem_type(code: &str) -> Option<&'static ProblemType> {
    PROBLEM_TYPES.iter().find(|t| t.code == code)
}

/// The URI of `code`'s page, the `type` of its problems (relative to the service).
pub fn type_uri(code: &str) -> String {
    format!("/docs/problems/{code}")
}
