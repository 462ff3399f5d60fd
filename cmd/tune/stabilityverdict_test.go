package main

import (
	"strings"
	"testing"
)

// The verdict follows the count of agreeing reruns on a quiet device; on a
// noisy one, whose resolution widens what agrees, only reruns that picked
// the overall winner itself can make a tune stable, and an undetermined
// verdict names the measurement that was too noisy.
func TestStabilityVerdict(t *testing.T) {
	quiet := deviceNoise{backToBack: 0.002, scatter: 0.001, paired: true}
	for _, c := range []struct {
		name         string
		counts       rerunCounts
		noise        deviceNoise
		want         string
		undetermined bool
	}{
		{"quiet, all agree", rerunCounts{runs: 10, agree: 10, same: 4}, quiet, "stable", false},
		{"quiet, one short", rerunCounts{runs: 10, agree: 9, same: 9}, quiet, "not stable", false},
		{"quiet, no pairs", rerunCounts{runs: 10, agree: 10, same: 10}, deviceNoise{backToBack: 0.01}, "stable", false},
		{"noisy, every pick the winner", rerunCounts{runs: 10, agree: 10, same: 10}, deviceNoise{backToBack: 0.051}, "stable: 10 of them picked the overall winner itself, which the device's noise (resolution 5.1%, past 5%) cannot blur", false},
		{"noisy, agreement by the wide threshold", rerunCounts{runs: 10, agree: 10, same: 8}, deviceNoise{backToBack: 0.06, scatter: 0.02, paired: true}, "undetermined: back to back, the device did not reproduce the winner's own median within 5%", true},
		{"noisy pairs", rerunCounts{runs: 10, agree: 9, same: 5}, deviceNoise{backToBack: 0.01, scatter: 0.08, paired: true}, "undetermined: the paired rounds scattered by more than 5%", true},
		{"noisy both", rerunCounts{runs: 10, agree: 3, same: 3}, deviceNoise{backToBack: 0.09, scatter: 0.08, paired: true}, "undetermined: the device reproduced neither the winner's own median back to back nor the paired rounds within 5%", true},
		{"a scatter without pairs is none", rerunCounts{runs: 10, agree: 10, same: 10}, deviceNoise{backToBack: 0.01, scatter: 0.5}, "stable", false},
	} {
		got, determined := stabilityVerdict(c.counts, c.noise, 0.95, 0.05)
		if got != c.want || determined == c.undetermined {
			t.Errorf("%s: %q (determined %t), want %q (determined %t)", c.name, got, determined, c.want, !c.undetermined)
		}
	}
	if got, _ := stabilityVerdict(rerunCounts{runs: 10, agree: 9, same: 9}, quiet, 0.9, 0.05); !strings.HasPrefix(got, "stable") {
		t.Errorf("9 of 10 at a 90%% criterion: %q, want stable", got)
	}
}
