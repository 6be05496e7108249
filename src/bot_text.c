/*
 * bot_text.c: the bot's own words per locale (see bot_text.h). Written
 * for parley in each language's everyday register of shop support (not
 * translated word for word), with the same terms as the widget's
 * catalogues (widget/i18n/); German and French address the visitor
 * formally (Sie, vous), the others as their shops' chats do (du, tú).
 * How they were checked, and what review they still want: docs/widget.md.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "bot_text.h"
#include "util.h"

enum { L_EN, L_DE, L_FR, L_ES, L_DA, L_SV, L_ET, L__MAX };

static const char *const locales[L__MAX] = { "en", "de", "fr", "es", "da", "sv",
	"et" };

static const struct {
	const char *reason;
	const char *text[L__MAX];
} handoffs[] = {
	{ "visitor_request",
	    { "I've asked a person from our team to join. They will reply "
	      "here as soon as they can.",
		"Ich habe eine Person aus unserem Team dazugeholt. Sie "
		"antwortet hier, sobald sie kann.",
		"J'ai demandé à une personne de notre équipe de vous "
		"rejoindre. Elle vous répondra ici dès que possible.",
		"He pedido a una persona de nuestro equipo que se una. Te "
		"responderá aquí en cuanto pueda.",
		"Jeg har bedt en person fra vores team om at være med. "
		"Vedkommende svarer her, så snart det er muligt.",
		"Jag har bett någon i vårt team att ansluta. Hen svarar här "
		"så snart som möjligt.",
		"Palusin appi inimese meie meeskonnast. Ta vastab siin "
		"niipea, kui saab." } },
	{ "no_answer",
	    { "I couldn't find an answer to that in our documentation, so "
	      "I've asked a person from our team to help. They will reply "
	      "here.",
		"Dazu habe ich in unserer Dokumentation keine Antwort "
		"gefunden. Deshalb habe ich eine Person aus unserem Team um "
		"Hilfe gebeten. Sie antwortet hier.",
		"Je n'ai pas trouvé de réponse dans notre documentation, "
		"j'ai donc demandé l'aide d'une personne de notre équipe. "
		"Elle vous répondra ici.",
		"No he encontrado la respuesta en nuestra documentación, así "
		"que he pedido ayuda a una persona de nuestro equipo. Te "
		"responderá aquí.",
		"Jeg kunne ikke finde svar på det i vores dokumentation, så "
		"jeg har bedt en person fra vores team om hjælp. "
		"Vedkommende svarer her.",
		"Jag hittade inget svar på det i vår dokumentation, så jag "
		"har bett någon i vårt team om hjälp. Hen svarar här.",
		"Ma ei leidnud sellele meie dokumentatsioonist vastust, "
		"seega palusin abi meie meeskonnalt. Vastus tuleb siia." } },
	{ "provider_error",
	    { "Sorry, I'm having trouble answering right now. I've asked a "
	      "person from our team to help; they will reply here.",
		"Entschuldigung, ich kann gerade nicht antworten. Ich habe "
		"eine Person aus unserem Team um Hilfe gebeten; sie "
		"antwortet hier.",
		"Désolé, je n'arrive pas à répondre pour le moment. J'ai "
		"demandé l'aide d'une personne de notre équipe ; elle vous "
		"répondra ici.",
		"Lo siento, ahora mismo no puedo responder. He pedido ayuda "
		"a una persona de nuestro equipo; te responderá aquí.",
		"Beklager, jeg kan ikke svare lige nu. Jeg har bedt en "
		"person fra vores team om hjælp; vedkommende svarer her.",
		"Tyvärr kan jag inte svara just nu. Jag har bett någon i "
		"vårt team om hjälp; hen svarar här.",
		"Vabandust, ma ei saa praegu vastata. Palusin abi meie "
		"meeskonnalt; vastus tuleb siia." } },
	{ "output_check",
	    { "Sorry, I can't answer that properly. I've asked a person from "
	      "our team to take over; they will reply here.",
		"Entschuldigung, darauf kann ich nicht richtig antworten. "
		"Eine Person aus unserem Team übernimmt; sie antwortet hier.",
		"Désolé, je ne peux pas répondre correctement à cette "
		"question. Une personne de notre équipe prend le relais ; "
		"elle vous répondra ici.",
		"Lo siento, no puedo responder bien a eso. Una persona de "
		"nuestro equipo se encargará; te responderá aquí.",
		"Beklager, det kan jeg ikke svare ordentligt på. En person "
		"fra vores team tager over; vedkommende svarer her.",
		"Tyvärr kan jag inte svara ordentligt på det. Någon i vårt "
		"team tar över; hen svarar här.",
		"Vabandust, ma ei oska sellele korralikult vastata. Meie "
		"meeskond võtab üle; vastus tuleb siia." } },
	{ "budget",
	    { "I've asked a person from our team to help with this. They "
	      "will reply here as soon as they can.",
		"Ich habe eine Person aus unserem Team gebeten, Ihnen zu "
		"helfen. Sie antwortet hier, sobald sie kann.",
		"J'ai demandé à une personne de notre équipe de vous aider. "
		"Elle vous répondra ici dès que possible.",
		"He pedido a una persona de nuestro equipo que te ayude. Te "
		"responderá aquí en cuanto pueda.",
		"Jeg har bedt en person fra vores team om at hjælpe dig. "
		"Vedkommende svarer her, så snart det er muligt.",
		"Jag har bett någon i vårt team att hjälpa dig. Hen svarar "
		"här så snart som möjligt.",
		"Palusin meie meeskonnal teid aidata. Vastus tuleb siia "
		"niipea kui võimalik." } },
	{ "attachment",
	    { "I can't open files, so I've asked a person from our team to "
	      "look at it. They will reply here.",
		"Ich kann keine Dateien öffnen. Deshalb sieht sich eine "
		"Person aus unserem Team die Datei an; sie antwortet hier.",
		"Je ne peux pas ouvrir les fichiers : une personne de notre "
		"équipe va le regarder. Elle vous répondra ici.",
		"No puedo abrir archivos, así que una persona de nuestro "
		"equipo lo revisará. Te responderá aquí.",
		"Jeg kan ikke åbne filer, så en person fra vores team kigger "
		"på den. Vedkommende svarer her.",
		"Jag kan inte öppna filer, så någon i vårt team tittar på "
		"den. Hen svarar här.",
		"Ma ei saa faile avada, seega vaatab selle üle meie "
		"meeskond. Vastus tuleb siia." } },
};

static const char *const not_found[L__MAX] = {
	"I couldn't find that in our documentation. You can ask for a person "
	"from our team at any time.",
	"Dazu habe ich in unserer Dokumentation nichts gefunden. Sie können "
	"jederzeit nach einer Person aus unserem Team fragen.",
	"Je n'ai rien trouvé à ce sujet dans notre documentation. Vous pouvez "
	"demander à parler à une personne de notre équipe à tout moment.",
	"No he encontrado nada sobre eso en nuestra documentación. Puedes "
	"pedir hablar con una persona de nuestro equipo cuando quieras.",
	"Det kunne jeg ikke finde i vores dokumentation. Du kan altid bede om "
	"at tale med en person fra vores team.",
	"Det hittade jag inte i vår dokumentation. Du kan när som helst be att "
	"få prata med någon i vårt team.",
	"Ma ei leidnud seda meie dokumentatsioonist. Võite igal ajal paluda "
	"ühendust meie meeskonna inimesega.",
};

static const char *const names[][2] = { { "en", "English" }, { "de", "German" },
	{ "fr", "French" }, { "es", "Spanish" }, { "da", "Danish" },
	{ "sv", "Swedish" }, { "et", "Estonian" }, { "fi", "Finnish" },
	{ "nl", "Dutch" }, { "it", "Italian" }, { "pt", "Portuguese" },
	{ "nb", "Norwegian (Bokmål)" }, { "ar", "Arabic" },
	{ "he", "Hebrew" } };

static int
index_of(const char *locale)
{
	int i;

	for (i = 0; locale != NULL && i < L__MAX; i++)
		if (strcmp(locale, locales[i]) == 0)
			return i;
	return L_EN;
}

const char *
bot_handoff_text(const char *reason, const char *locale)
{
	size_t i;
	int    l = index_of(locale);

	for (i = 0; i < nitems(handoffs); i++)
		if (strcmp(reason, handoffs[i].reason) == 0)
			return handoffs[i].text[l];
	return handoffs[0].text[l];
}

const char *
bot_not_found_text(const char *locale)
{
	return not_found[index_of(locale)];
}

const char *
bot_language_name(const char *locale)
{
	size_t i;

	for (i = 0; locale != NULL && i < nitems(names); i++)
		if (strcmp(locale, names[i][0]) == 0)
			return names[i][1];
	return NULL;
}
