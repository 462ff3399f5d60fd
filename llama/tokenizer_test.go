package llama

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tune-gpu/tune/gguf"
)

// vocabCase is one string of llama.cpp's tokenizer test for the Llama 2
// SentencePiece vocabulary, with the ids llama.cpp gives it (no BOS).
type vocabCase struct {
	text string
	ids  []int
}

// readVocabCases reads ggml-vocab-llama-spm.gguf.inp (strings, each
// followed by "\n__ggml_vocab_test__\n") and .out (ids per string, one
// line each).
func readVocabCases(t *testing.T) []vocabCase {
	t.Helper()
	inp, err := os.ReadFile(models + "ggml-vocab-llama-spm.gguf.inp")
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile(models + "ggml-vocab-llama-spm.gguf.out")
	if err != nil {
		t.Fatal(err)
	}
	const sep = "\n__ggml_vocab_test__\n"
	texts := strings.Split(strings.TrimSuffix(string(inp), sep), sep)
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(texts) != len(lines) {
		t.Fatalf("%d strings but %d id lines", len(texts), len(lines))
	}
	cases := make([]vocabCase, len(texts))
	for i, line := range lines {
		cases[i].text = texts[i]
		for f := range strings.FieldsSeq(line) {
			id, err := strconv.Atoi(f)
			if err != nil {
				t.Fatal(err)
			}
			cases[i].ids = append(cases[i].ids, id)
		}
	}
	return cases
}

func loadTokenizer(t *testing.T, name string) *Tokenizer {
	t.Helper()
	var tok *Tokenizer
	var err error
	switch name {
	case "tok512.bin":
		tok, err = LoadTokenizerBin(models+name, 512)
	case "llama2c_tokenizer.bin":
		tok, err = LoadTokenizerBin(models+name, 32000)
	default:
		tok, err = LoadGGUFTokenizer(models + name)
	}
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestVocabLlamaSPM encodes llama.cpp's tokenizer test strings with the
// GGUF vocabulary (llama.cpp's SPM rules) and with the same vocabulary in
// llama2.c's format (run.c's rules): both give llama.cpp's ids.
func TestVocabLlamaSPM(t *testing.T) {
	cases := readVocabCases(t)
	for _, name := range []string{"ggml-vocab-llama-spm.gguf", "llama2c_tokenizer.bin"} {
		t.Run(name, func(t *testing.T) {
			tok := loadTokenizer(t, name)
			for _, c := range cases {
				if got := tok.Encode(c.text, false, false); !slices.Equal(got, c.ids) {
					t.Errorf("Encode(%q) = %v, want %v", c.text, got, c.ids)
				}
				if got := tok.Encode(c.text, true, true); !slices.Equal(got, append(append([]int{1}, c.ids...), 2)) {
					t.Errorf("Encode(%q, bos, eos) = %v", c.text, got)
				}
			}
		})
	}
}

// decodeAfterBOS decodes ids, which start with BOS, the way Generate does.
func decodeAfterBOS(tok *Tokenizer, ids []int) string {
	var b strings.Builder
	for i := 1; i < len(ids); i++ {
		b.WriteString(tok.Decode(ids[i-1], ids[i]))
	}
	return b.String()
}

var roundTrips = []string{
	"", "Hello world", " Hello  world ", "   ", "\n\ttabs\r\n", "Once upon a time, there was a little girl.",
	"ied 4 ½ months", "Führer", "🦙🦙 llama.cpp", "Здравствуй, мир", "日本語のテキスト", "a\x00b",
	"invalid \xff\xfe utf-8 \xe2\x82", "lone continuation \x80\x80\x80\x80\x80", "<0x41> <s> </s>",
}

func TestRoundTrip(t *testing.T) {
	cases := readVocabCases(t)
	for _, name := range []string{"ggml-vocab-llama-spm.gguf", "llama2c_tokenizer.bin", "tok512.bin", "stories260K.gguf"} {
		t.Run(name, func(t *testing.T) {
			tok := loadTokenizer(t, name)
			texts := slices.Clone(roundTrips)
			for _, c := range cases {
				texts = append(texts, c.text)
			}
			for _, s := range texts {
				if tok.spm && !utf8.ValidString(s) {
					// llama.cpp sizes a character by its lead byte alone, so
					// an invalid one can swallow an escaped space, whose
					// bytes then decode as "▁".
					continue
				}
				ids := tok.Encode(s, true, false)
				want := s
				if !tok.spm {
					want, _, _ = strings.Cut(s, "\x00") // run.c stops at NUL
				}
				if got := decodeAfterBOS(tok, ids); got != want {
					t.Errorf("decode(encode(%q)) = %q (ids %v)", s, got, ids)
				}
			}
		})
	}
}

// TestTokenizersAgree checks that stories260K's vocabulary gives the same
// ids in llama2.c's format with run.c's rules as in its GGUF file with
// llama.cpp's.
func TestTokenizersAgree(t *testing.T) {
	bin, spm := loadTokenizer(t, "tok512.bin"), loadTokenizer(t, "stories260K.gguf")
	for _, s := range append(slices.Clone(roundTrips[:11]), "Lily's mom said, \"Lily, let's go to the park.\"") {
		if a, b := bin.Encode(s, true, false), spm.Encode(s, true, false); !slices.Equal(a, b) {
			t.Errorf("Encode(%q): tok512.bin %v, GGUF %v", s, a, b)
		}
	}
}

func TestDecode(t *testing.T) {
	bin, spm := loadTokenizer(t, "tok512.bin"), loadTokenizer(t, "stories260K.gguf")
	for _, tc := range []struct {
		name      string
		tok       *Tokenizer
		prev, id  int
		want      string
		wantPiece string
	}{
		{"after BOS strips space", bin, 1, 403, "Once", " Once"},
		{"after BOS strips space (gguf)", spm, 1, 403, "Once", "▁Once"},
		{"elsewhere keeps space", bin, 426, 403, " Once", " Once"},
		{"elsewhere keeps space (gguf)", spm, 426, 403, " Once", "▁Once"},
		{"byte token", bin, 426, 13, "\n", "<0x0A>"},
		{"byte token (gguf)", spm, 1, 13, "\n", "<0x0A>"},
		{"raw byte", spm, 1, 3 + 0xE2, "\xe2", "<0xE2>"},
		{"llama2.c EOS prints its piece", bin, 426, 2, "\n</s>\n", "\n</s>\n"},
		{"control tokens decode to nothing (gguf)", spm, 426, 2, "", "</s>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if p := tc.tok.Pieces[tc.id]; p != tc.wantPiece {
				t.Fatalf("piece %d is %q, want %q", tc.id, p, tc.wantPiece)
			}
			if got := tc.tok.Decode(tc.prev, tc.id); got != tc.want {
				t.Errorf("Decode(%d, %d) = %q, want %q", tc.prev, tc.id, got, tc.want)
			}
		})
	}
}

// tokenizerBin serializes pieces and scores as a llama2.c tokenizer.bin.
func tokenizerBin(pieces []string, scores []float32) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, int32(8))
	for i, p := range pieces {
		binary.Write(&b, binary.LittleEndian, scores[i])
		binary.Write(&b, binary.LittleEndian, int32(len(p)))
		b.WriteString(p)
	}
	return b.Bytes()
}

func TestReadTokenizerBin(t *testing.T) {
	pieces := []string{"<unk>", "\n<s>\n", "\n</s>\n", "<0x61>", " ", "a", "b", "ab", " ab"}
	scores := []float32{0, 0, 0, 0, -1, -2, -3, -4, -5}
	good := tokenizerBin(pieces, scores)
	tok, err := ReadTokenizerBin(bytes.NewReader(good), int64(len(good)), len(pieces))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		text string
		want []int
	}{
		{"", nil},
		{"ab", []int{8}},              // " " "a" "b" -> " " "ab" -> " ab"
		{"ba", []int{4, 6, 5}},        // " b" and "ba" are no pieces
		{"abab", []int{8, 7}},         // " ab" "ab"
		{"c", []int{4, int(0)}},       // no <0x63>: unknown
		{"aa", []int{4, 5, 5}},        // "aa" is no piece
		{"\x00ab", nil},               // run.c reads a C string
		{"a\x80b", []int{4, 3, 0, 6}}, // "a\x80" is one run.c character: bytes <0x61>, then unknown
		{"é", []int{4, 0, 0}},         // two bytes without byte pieces
		{" ", []int{4, 4}},            // dummy prefix, then the space
		{"b ab", []int{4, 6, 8}},      // merges happen after the first word too
		{"ab ab", []int{8, 8}},        // two merges of equal score: leftmost first
		{"\xff", []int{4, int(0)}},    // invalid UTF-8
		{"aaaa", []int{4, 5, 5, 5, 5}},
		{"a b", []int{4, 5, 4, 6}},             // " b" is no piece
		{"ab\x00ab", []int{8}},                 // stops at NUL
		{"abab ab", []int{8, 7, 8}},            // three merges
		{"<0x61>", []int{4, 0, 0, 0, 0, 0, 0}}, // byte pieces are not parsed from text
	} {
		if got := tok.Encode(tc.text, false, false); !slices.Equal(got, tc.want) {
			t.Errorf("Encode(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}

	for _, tc := range []struct {
		name  string
		data  []byte
		vocab int
	}{
		{"empty", nil, 9},
		{"too small a vocabulary", good, 2},
		{"more tokens than the file holds", good, 10},
		{"absurd vocabulary", good, 1 << 40},
		{"truncated piece", good[:len(good)-1], 9},
		{"negative length", append(bytes.Clone(good[:4]), 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 3},
		{"length past the end", append(bytes.Clone(good[:4]), 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ReadTokenizerBin(bytes.NewReader(tc.data), int64(len(tc.data)), tc.vocab); !errors.Is(err, ErrFormat) {
				t.Fatalf("got %v, want ErrFormat", err)
			}
		})
	}
}

func TestGGUFTokenizerErrors(t *testing.T) {
	base := []gguf.KV{
		{Key: "tokenizer.ggml.model", Value: "llama"},
		{Key: "tokenizer.ggml.tokens", Value: []string{"<unk>", "<s>", "</s>", "▁a"}},
		{Key: "tokenizer.ggml.scores", Value: []float32{0, 0, 0, -1}},
		{Key: "tokenizer.ggml.token_type", Value: []int32{2, 3, 3, 1}},
	}
	with := func(kv gguf.KV) gguf.Metadata {
		md := slices.Clone(gguf.Metadata(base))
		for i := range md {
			if md[i].Key == kv.Key {
				md[i] = kv
				return md
			}
		}
		return append(md, kv)
	}
	if _, err := GGUFTokenizer(base); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		md   gguf.Metadata
		want error
	}{
		{"no tokenizer", nil, ErrFormat},
		{"gpt2", with(gguf.KV{Key: "tokenizer.ggml.model", Value: "gpt2"}), ErrUnsupported},
		{"tokens of the wrong type", with(gguf.KV{Key: "tokenizer.ggml.tokens", Value: []int32{1, 2, 3, 4}}), ErrFormat},
		{"too few scores", with(gguf.KV{Key: "tokenizer.ggml.scores", Value: []float32{0}}), ErrFormat},
		{"too many types", with(gguf.KV{Key: "tokenizer.ggml.token_type", Value: []int32{1, 1, 1, 1, 1}}), ErrFormat},
		{"BOS outside", with(gguf.KV{Key: "tokenizer.ggml.bos_token_id", Value: uint32(4)}), ErrFormat},
		{"EOS of the wrong type", with(gguf.KV{Key: "tokenizer.ggml.eos_token_id", Value: "2"}), ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := GGUFTokenizer(tc.md); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// add_space_prefix false: no space before the text.
	tok, err := GGUFTokenizer(with(gguf.KV{Key: "tokenizer.ggml.add_space_prefix", Value: false}))
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Encode("a", false, false); !slices.Equal(got, []int{0}) {
		t.Errorf(`Encode("a") without space prefix = %v, want [0] (no piece, no byte tokens)`, got)
	}
	if got := tok.Encode(" a", false, false); !slices.Equal(got, []int{3}) {
		t.Errorf(`Encode(" a") without space prefix = %v, want [3]`, got)
	}
}
