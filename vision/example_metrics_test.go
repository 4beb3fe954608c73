package vision_test

import (
	"fmt"
	"strings"

	"dlmstream/vision"
)

func ExampleTokenizeCaption() {
	fmt.Println(strings.Join(vision.TokenizeCaption(`A man's dog (brown) isn't "happy" at 3:30 p.m.!`), " "))
	// Output: a man 's dog -lrb- brown -rrb- is n't happy at 3:30 p.m.
}

func ExampleCIDErD() {
	cands := map[string]string{
		"1": "A dog sitting on a couch.",
		"2": "two cats on a bed",
		"3": "a red bus",
	}
	refs := map[string][]string{
		"1": {"A dog sitting on a couch.", "A brown dog lying on a sofa."},
		"2": {"Two cats are sleeping on a bed."},
		"3": {"A train pulling into a station."},
	}
	score, perImage, err := vision.CIDErD(cands, refs)
	if err != nil {
		panic(err)
	}
	fmt.Printf("CIDEr-D %.4f\n", score)
	for _, id := range []string{"1", "2", "3"} {
		fmt.Printf("%s: %.4f\n", id, perImage[id])
	}
	// Output:
	// CIDEr-D 3.0475
	// 1: 5.4253
	// 2: 3.7173
	// 3: 0.0000
}

func ExampleBLEU() {
	cands := map[string]string{"1": "A dog sitting on a couch.", "2": "two cats on a bed"}
	refs := map[string][]string{
		"1": {"A dog sitting on a couch.", "A brown dog lying on a sofa."},
		"2": {"Two cats are sleeping on a bed."},
	}
	scores, perImage, err := vision.BLEU(cands, refs, 4)
	if err != nil {
		panic(err)
	}
	fmt.Printf("BLEU-1..4 %.4f\n", scores)
	fmt.Printf("image 2 %.4f\n", perImage["2"])
	// Output:
	// BLEU-1..4 [0.8338 0.7861 0.7166 0.6550]
	// image 2 [0.6703 0.5805 0.4223 0.0001]
}

func ExampleCaptionSet() {
	// Captions already tokenized: split them on whitespace instead of PTB tokenizing.
	set, err := vision.NewCaptionSet(
		map[string]string{"1": "a dog on a couch", "2": "a red bus"},
		map[string][]string{"1": {"a dog sitting on a couch"}, "2": {"a red bus on a street", "a bus"}},
		strings.Fields)
	if err != nil {
		panic(err)
	}
	cider, _ := set.CIDErD()
	bleu, _, err := set.BLEU(2)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%v: CIDEr-D %.4f BLEU-1 %.4f BLEU-2 %.4f\n", set.IDs(), cider, bleu[0], bleu[1])
	// Output: [1 2]: CIDEr-D 3.6261 BLEU-1 1.0000 BLEU-2 0.9129
}
