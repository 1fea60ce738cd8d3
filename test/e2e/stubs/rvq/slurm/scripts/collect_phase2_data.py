#!/usr/bin/env python3
"""STUB of slurm/scripts/collect_phase2_data.py (Oscar-Ge/RVQExperiment at d578ed2), for rfsq's tests.

Parses the same arguments as the real parse_args (lines 53-152: names with dashes; --rfsq-model and
--output-path required), exits 1 when the tokenizer is missing (lines 544-546), prints the real
script's summary lines (lines 357-362, 485-488, 503-506, 551-552) and writes the output file and
its .json metadata (lines 505, 520). Collects nothing.
"""
import argparse
import json
import sys
from pathlib import Path

from _stub import write_stub_file


def parse_args():
    parser = argparse.ArgumentParser(description="Collect Phase 2 training data")
    parser.add_argument('--num-episodes', type=int, default=200)
    parser.add_argument('--rfsq-model', type=str, required=True)
    parser.add_argument('--output-path', type=str, required=True)
    parser.add_argument('--device', type=str, default='cuda')
    parser.add_argument('--seed', type=int, default=42)
    parser.add_argument('--action-dim', type=int, default=7)
    parser.add_argument('--hidden-dim', type=int, default=16)
    parser.add_argument('--num-layers', type=int, default=8)
    parser.add_argument('--num-levels', type=int, default=7)
    parser.add_argument('--use-layernorm', action='store_true', default=True)
    parser.add_argument('--task-suite', type=str, default='libero_spatial')
    parser.add_argument('--max-episode-steps', type=int, default=300)
    parser.add_argument('--openvla-model', type=str, default='moojink/openvla-7b-oft-finetuned-libero-spatial')
    parser.add_argument('--verbose', action='store_true')
    return parser.parse_args()


def main():
    args = parse_args()
    if not Path(args.rfsq_model).exists():
        print(f"❌ RFSQ model not found: {args.rfsq_model}")  # line 545
        sys.exit(1)
    print("\n" + "=" * 80)
    print("📦 Phase 2 Data Collection: OpenVLA Features + RFSQ Labels")  # line 358
    print("=" * 80)
    print(f"Episodes: {args.num_episodes}")
    print(f"RFSQ Model: {args.rfsq_model}")
    print(f"Output: {args.output_path}")  # line 362
    samples = args.num_episodes * 37
    print("\n" + "=" * 80)
    print("📊 Data Collection Summary")
    print("=" * 80)
    print(f"✅ Total samples collected: {samples}")  # line 485
    print(f"\n5️⃣ Saving {samples} samples...")  # line 503
    write_stub_file(args.output_path, "the OpenVLA features and RFSQ labels the real script collects")
    print(f"   ✅ Saved to {args.output_path}")  # line 506
    metadata_path = Path(args.output_path).with_suffix('.json')
    with open(metadata_path, 'w') as f:
        json.dump({'num_samples': samples, 'rfsq_model': args.rfsq_model}, f)
    print(f"\n✅ Successfully collected {samples} samples")  # line 551
    print(f"📁 Output: {args.output_path}")  # line 552


if __name__ == "__main__":
    main()
