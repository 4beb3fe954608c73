package schema

// Patterns of the supported formats, narrower than the formats (every
// match is valid) so that outputs always pass format assertion.
var formatPatterns = map[string]string{
	"date":      `^` + datePat + `$`,
	"date-time": `^` + datePat + `T` + timePat + `$`,
	"email":     `^[a-z0-9]+(?:[._-][a-z0-9]+)*@[a-z0-9]+(?:-[a-z0-9]+)*(?:\.[a-z0-9]+(?:-[a-z0-9]+)*)*\.[a-z]{2,8}$`,
	"uri":       `^` + uriPat + `$`,
	"iri":       `^` + uriPat + `$`,
	// Every URI is a URI reference and a URI template; so is an absolute
	// path.
	"uri-reference": `^(?:` + uriPat + `|(?:/[A-Za-z0-9._~-]*)+)$`,
	"iri-reference": `^(?:` + uriPat + `|(?:/[A-Za-z0-9._~-]*)+)$`,
	"uri-template":  `^` + uriPat + `$`,
	"ipv4":          `^` + octet + `(?:\.` + octet + `){3}$`,
	"ipv6":          `^[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){7}$`, // the full form
	"uuid":          `^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`,
	// Labels of at most 41 characters, at most 5 of them.
	"hostname":              `^` + label + `(?:\.` + label + `){0,4}$`,
	"idn-hostname":          `^` + label + `(?:\.` + label + `){0,4}$`,
	"idn-email":             `^[a-z0-9]+(?:[._-][a-z0-9]+)*@[a-z0-9]+(?:-[a-z0-9]+)*(?:\.[a-z0-9]+(?:-[a-z0-9]+)*)*\.[a-z]{2,8}$`,
	"time":                  `^` + timePat + `$`,
	"duration":              `^P(?:[0-9]{1,4}W|[0-9]{1,4}D|T[0-9]{1,4}[HMS]|[0-9]{1,4}Y(?:[0-9]{1,2}M)?(?:[0-9]{1,2}D)?|[0-9]{1,2}M(?:[0-9]{1,2}D)?)$`,
	"period":                `^` + datePat + `T` + timePat + `/P(?:[0-9]{1,4}D|T[0-9]{1,4}[HMS])$`,
	"json-pointer":          `^(?:/[A-Za-z0-9_-]*)*$`,
	"relative-json-pointer": `^(?:0|[1-9][0-9]{0,3})(?:/[A-Za-z0-9_-]*)*$`,
	"semver":                `^(?:0|[1-9][0-9]{0,3})\.(?:0|[1-9][0-9]{0,3})\.(?:0|[1-9][0-9]{0,3})$`,
	"regex":                 `^[A-Za-z0-9_ -]*$`,
}

const (
	uriPat  = `https?://[a-z0-9]+(?:-[a-z0-9]+)*(?:\.[a-z0-9]+(?:-[a-z0-9]+)*)*(?:/[A-Za-z0-9._~-]*)*`
	octet   = `(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])`
	label   = `[a-z0-9]{1,20}(?:-[a-z0-9]{1,20})?`
	timePat = `(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])`
)

const datePat = `[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))`

// formatMaxLen keeps formats within the validator's length rules (an email
// local part of at most 64 octets, DNS labels of at most 63).
var formatMaxLen = map[string]int{"email": 64, "idn-email": 64, "uri": 200, "iri": 200, "uri-reference": 200, "iri-reference": 200, "uri-template": 200}
