package web

import "github.com/open-assist/assist/internal/rules"

// Text is the pages' own words in one language, by key.
type Text map[string]string

// Texts returns the pages' words in lang (English for any other).
func Texts(lang rules.Lang) Text {
	if lang == rules.Welsh {
		return welsh
	}
	return english
}

var english = Text{
	"lang":          "en",
	"service":       "HMRC Assist",
	"skip":          "Skip to main content",
	"switch":        "Cymraeg",
	"switchLang":    "cy",
	"switchLabel":   "Newid yr iaith i'r Gymraeg",
	"signOut":       "Sign out",
	"reportTitle":   "Check your tax calculation",
	"reportCaption": "Tax year %s",
	"count":         "There is 1 thing to check before you submit",
	"countMany":     "There are %d things to check before you submit",
	"none":          "We found nothing to check in this calculation.",
	"whatYouCanDo":  "What you can do",
	"newTab":        "(opens in new tab)",
	"onlyIn":        "This report is only available in English.",
	"readButton":    "I have read this report",
	"readHint":      "Tell HMRC you have read the guidance in this report. You still need to check your figures before you submit.",
	"ackTitle":      "You have told HMRC you have read this report",
	"ackOn":         "Confirmed on %s",
	"reference":     "Report reference",
	"signInTitle":   "Sign in to see your report",
	"tokenLabel":    "Access token",
	"tokenHint":     "The access token your software or HMRC gave you. It is kept in this browser only until you sign out or it expires.",
	"sandboxHint":   "In the sandbox, create a test user with POST /test-support/individuals and paste its accessToken.",
	"continue":      "Continue",
	"errorSummary":  "There is a problem",
	"notFound":      "Page not found",
	"notFoundBody":  "There is no report at this address that you can see. Check the link, or sign in as the customer or an agent they have authorised.",
	"badForm":       "Sorry, there is a problem with this form",
	"badFormBody":   "The form was out of date or was not sent from this service. Go back to the report and try again.",
	"problem":       "Sorry, there is a problem with the service",
	"problemBody":   "Try again later.",
	"noToken":       "Enter your access token",
	"badToken":      "The access token is not valid or has expired",
	"longToken":     "The access token is too long to keep in this browser",
}

var welsh = Text{
	"lang":          "cy",
	"service":       "Cymorth CThEF",
	"skip":          "Neidio i'r prif gynnwys",
	"switch":        "English",
	"switchLang":    "en",
	"switchLabel":   "Change the language to English",
	"signOut":       "Allgofnodi",
	"reportTitle":   "Gwirio'ch cyfrifiad treth",
	"reportCaption": "Blwyddyn dreth %s",
	"count":         "Mae 1 peth i'w wirio cyn i chi gyflwyno",
	"countMany":     "Mae %d o bethau i'w gwirio cyn i chi gyflwyno",
	"none":          "Ni wnaethom ddod o hyd i unrhyw beth i'w wirio yn y cyfrifiad hwn.",
	"whatYouCanDo":  "Beth allwch ei wneud",
	"newTab":        "(yn agor mewn tab newydd)",
	"onlyIn":        "Mae'r adroddiad hwn ar gael yn Saesneg yn unig.",
	"readButton":    "Rwyf wedi darllen yr adroddiad hwn",
	"readHint":      "Rhowch wybod i CThEF eich bod wedi darllen yr arweiniad yn yr adroddiad hwn. Mae angen i chi wirio'ch ffigurau o hyd cyn i chi gyflwyno.",
	"ackTitle":      "Rydych wedi rhoi gwybod i CThEF eich bod wedi darllen yr adroddiad hwn",
	"ackOn":         "Cadarnhawyd ar %s",
	"reference":     "Cyfeirnod yr adroddiad",
	"signInTitle":   "Mewngofnodi i weld eich adroddiad",
	"tokenLabel":    "Tocyn mynediad",
	"tokenHint":     "Y tocyn mynediad a roddwyd i chi gan eich meddalwedd neu gan CThEF. Caiff ei gadw yn y porwr hwn yn unig nes i chi allgofnodi neu nes iddo ddod i ben.",
	"sandboxHint":   "Yn y blwch tywod, crëwch ddefnyddiwr prawf gyda POST /test-support/individuals a gludwch ei accessToken.",
	"continue":      "Yn eich blaen",
	"errorSummary":  "Mae problem wedi codi",
	"notFound":      "Heb ddod o hyd i'r dudalen",
	"notFoundBody":  "Nid oes adroddiad yn y cyfeiriad hwn y gallwch ei weld. Gwiriwch y ddolen, neu mewngofnodwch fel y cwsmer neu fel asiant y mae wedi'i awdurdodi.",
	"badForm":       "Mae'n ddrwg gennym, mae problem gyda'r ffurflen hon",
	"badFormBody":   "Roedd y ffurflen wedi dyddio neu nid oedd wedi'i hanfon gan y gwasanaeth hwn. Ewch yn ôl i'r adroddiad a rhowch gynnig arall arni.",
	"problem":       "Mae'n ddrwg gennym, mae problem gyda'r gwasanaeth",
	"problemBody":   "Rhowch gynnig arall arni nes ymlaen.",
	"noToken":       "Nodwch eich tocyn mynediad",
	"badToken":      "Nid yw'r tocyn mynediad yn ddilys neu mae wedi dod i ben",
	"longToken":     "Mae'r tocyn mynediad yn rhy hir i'w gadw yn y porwr hwn",
}
