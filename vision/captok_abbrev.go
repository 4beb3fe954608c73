package vision

import "strings"

// sentenceStarts are those words in CoreNLP 3.4.1 (found by running it on each).
var sentenceStarts = strings.Fields(`A About According Additionally After An As At But Earlier He Her Here
	However If In It Last Many More Mr. Ms. Now Once One Other Our She Since So Some Such That The Their
	Then There These They This We When While What Yet You`)

const (
	abbrevNone = iota
	abbrevAlways
	abbrevBeforeNumber // no. 5, fig. 3
)

// abbreviationKind says whether PTBLexer 3.4.1 keeps the period after tok.
// The table was found by running the Java tokenizer on each candidate in lower,
// title and upper case; other mixtures of case count as not abbreviations.
func abbreviationKind(tok string) int {
	low := strings.ToLower(tok)
	forms, ok := abbreviations[low]
	if !ok {
		if beforeNumber[low] {
			return abbrevBeforeNumber
		}
		return abbrevNone
	}
	var form uint8
	switch {
	case tok == low:
		form = abLower
	case tok == strings.ToUpper(tok):
		form = abUpper
	case tok == strings.ToUpper(tok[:1])+low[1:]:
		form = abTitle
	default:
		return abbrevNone
	}
	if forms&form != 0 {
		return abbrevAlways
	}
	return abbrevNone
}

const (
	abLower uint8 = 1 << iota
	abTitle
	abUpper
	abAll = abLower | abTitle | abUpper
)

var abbreviations = func() map[string]uint8 {
	m := map[string]uint8{}
	for _, w := range strings.Fields(`adj adm adv al ala apr ariz assn assoc asst atty attys aug ave
		bancorp bhd bldg blvd brig bros calif capt cf cie cmdr co col colo comdr conn corp cos cpl ct
		dak dec dept det dr drs elec ens esq est etc ext feb fla fri ft ga gen gov govs hon inc ind
		insp intl invt jan jos jr jul jun kan kans ky lieut lt ltd maj mar md messrs mich minn mlle
		mme mo mon mont mr mrs ms msgr mt natl neb nev nov oct okla penn pfc ph plc pres prof profs
		pvt rd rep reps rev rt sen sens sep sept seq sfc sgt spc sq sr st ste supt supts sys tel
		tenn thu thurs treas tue tues univ va vs vt wed wis wisc wm wyo`) {
		m[w] = abAll
	}
	for _, w := range strings.Fields(`ark az del ill la mass miss ore pa tex wash`) {
		m[w] = abTitle | abUpper
	}
	for _, w := range strings.Fields(`mfg mtg pte pty ptys`) {
		m[w] = abLower | abTitle
	}
	return m
}()

var beforeNumber = map[string]bool{"art": true, "ca": true, "fig": true, "figs": true, "no": true, "nos": true, "op": true, "pp": true, "prop": true}
