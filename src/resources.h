/*
 * resources.h: the resources parley's API reads and writes, each
 * declared once as a row (row.h): its columns, their JSON types and
 * flags. Statements select them with {{Name}}, handlers encode them with
 * row_json(), parleyctl openapi documents them as component schemas.
 */
#ifndef PARLEY_RESOURCES_H
#define PARLEY_RESOURCES_H

#include "row.h"

extern const struct row row_template;
extern const struct row row_chatbot;
extern const struct row row_logo;
extern const struct row row_widget_config;
extern const struct row row_visitor_brief;
extern const struct row row_pow_challenge;
extern const struct row row_oidc_provider;
extern const struct row row_oidc_start;
extern const struct row row_oidc_pending;
extern const struct row row_company_domain;
extern const struct row row_team;
extern const struct row row_label;
extern const struct row row_csat_group;
extern const struct row row_csat;
extern const struct row row_rating;
extern const struct row row_label_ids;
extern const struct row row_presence;
extern const struct row row_capacity;
extern const struct row row_notification;
extern const struct row row_notification_settings;
extern const struct row row_notification_list;
extern const struct row row_read_count;
extern const struct row row_company_sso;
extern const struct row row_identity;
extern const struct row row_citation;
extern const struct row row_message;
extern const struct row row_conversation;
extern const struct row row_draft;
extern const struct row row_summary;
extern const struct row row_webhook;
extern const struct row row_attempt;
extern const struct row row_delivery;
extern const struct row row_document;
extern const struct row row_source;
extern const struct row row_source_failure;
extern const struct row row_api_key;
extern const struct row row_invitation;
extern const struct row row_member;
extern const struct row row_tokens;
extern const struct row row_company_settings;
extern const struct row row_company;
extern const struct row row_company_llm;
extern const struct row row_security_event;
extern const struct row row_security_alert;
extern const struct row row_link_ended;
extern const struct row row_audit_entry;
extern const struct row row_export;
extern const struct row row_erasure;
extern const struct row row_visitor;
extern const struct row row_subject_export;
extern const struct row row_health;
extern const struct row row_ready;
extern const struct row row_meta;
extern const struct row row_totp_setup;
extern const struct row row_recovery;
extern const struct row row_billing;
extern const struct row row_stripe_session;
extern const struct row row_attachment;
extern const struct row row_me;
extern const struct row row_session;
extern const struct row row_signed_up;
extern const struct row row_confirmation;
extern const struct row row_accepted;
extern const struct row row_password_changed;
extern const struct row row_widget_conversation;
extern const struct row row_consent;
extern const struct row row_widget_message;
extern const struct row row_widget_session;
extern const struct row row_widget_chatbot;
extern const struct row row_message_accepted;
extern const struct row row_handoff;
extern const struct row row_availability;
extern const struct row row_contact;
extern const struct row row_seen;
extern const struct row row_link_session;
extern const struct row row_hours;

#endif
