// Numbers shared with mosquitto and the hosts: access bits, hook decisions, log levels.

/** Access requested in an ACL check; mosquitto's MOSQ_ACL_* values. */
export enum Access {
  /** No access (mosquitto uses it for some internal checks). */
  None = 0,
  /** A message is about to be delivered to this client. */
  Read = 1,
  /** The client publishes a message. */
  Write = 2,
  /** The client subscribes with this topic filter. */
  Subscribe = 4,
  /** The client unsubscribes from this topic filter. */
  Unsubscribe = 8,
}

/** pyauth-compatible name of {@link Access.None}. */
export const MOSQ_ACL_NONE: i32 = 0;
/** pyauth-compatible name of {@link Access.Read}. */
export const MOSQ_ACL_READ: i32 = 1;
/** pyauth-compatible name of {@link Access.Write}. */
export const MOSQ_ACL_WRITE: i32 = 2;
/** pyauth-compatible name of {@link Access.Subscribe}. */
export const MOSQ_ACL_SUBSCRIBE: i32 = 4;
/** pyauth-compatible name of {@link Access.Unsubscribe}. */
export const MOSQ_ACL_UNSUBSCRIBE: i32 = 8;

/**
 * Result of a request hook. `true`/`false` from a hook returning `bool` mean Allow/Deny.
 * Defer hands the request to the next plugin (e.g. dynamic-security); if none decides, mosquitto denies.
 */
export enum Decision {
  /** Refuse the request. */
  Deny = 0,
  /** Grant the request. */
  Allow = 1,
  /** Let the next plugin decide (MOSQ_ERR_PLUGIN_DEFER). */
  Defer = 2,
}

/** MOSQ_LOG_INFO. */
export const LOG_INFO: i32 = 1;
/** MOSQ_LOG_NOTICE. */
export const LOG_NOTICE: i32 = 2;
/** MOSQ_LOG_WARNING. */
export const LOG_WARNING: i32 = 4;
/** MOSQ_LOG_ERR. */
export const LOG_ERR: i32 = 8;
/** MOSQ_LOG_DEBUG. */
export const LOG_DEBUG: i32 = 16;
