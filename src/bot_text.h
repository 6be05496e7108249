/*
 * bot_text.h: the bot's own words (handoffs, "not found") in the widget's
 * languages, and the names of those languages for the model's
 * instructions. English wherever a locale is unknown or NULL.
 */
#ifndef PARLEY_BOT_TEXT_H
#define PARLEY_BOT_TEXT_H

/* The text the visitor sees when the bot hands over for 'reason'. */
const char *bot_handoff_text(const char *reason, const char *locale);
/* "Not in our documentation; ask for a person any time". */
const char *bot_not_found_text(const char *locale);
/* The English name of 'locale' ("German"), or NULL when unknown. */
const char *bot_language_name(const char *locale);

#endif
