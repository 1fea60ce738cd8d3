#!/usr/bin/env python3
"""STUB of slurm/scripts/evaluate_openvla_baseline.py (Oscar-Ge/RVQExperiment at d578ed2), for rfsq's tests.

Parses the same arguments as the real main (lines 613-648: names with dashes; --record-videos is
store_true with default True, --no-videos turns it off), prints the real script's lines (header
lines 317-324, summary 557-584) and writes <results-dir>/baseline_results.json with the real keys
(lines 538-553; policy_stats of get_stats, lines 138-147). Simulates nothing.
"""
import argparse
import json
import os
from pathlib import Path

from _stub import number, run_tasks


def run_evaluation(args):
    print(f"\n{'='*80}")
    print(f"OpenVLA Baseline Evaluation - {args.task_suite}")  # line 318
    print(f"{'='*80}")
    print(f"Device: {args.device}")
    print(f"Num Trials: {args.num_trials}")
    print(f"Record Videos: {args.record_videos}")
    print(f"Save All Videos: {args.save_all_videos}")
    print(f"{'='*80}\n")
    task_results, total_episodes, total_successes = run_tasks(
        args.num_trials, number('RVQ_STUB_BASELINE_SUCCESS', 0.87), 'baseline')
    final_success_rate = total_successes / total_episodes if total_episodes > 0 else 0.0
    total = total_episodes * 28
    policy_stats = {
        'total_predictions': total,
        'avg_inference_time_ms': number('RVQ_STUB_POLICY_MS', 71.84),
        'fallback_count': 0,
        'fallback_rate': 0.0,
    }
    results = {
        'task_suite': args.task_suite,
        'model_type': 'openvla_baseline',
        'total_episodes': total_episodes,
        'total_successes': total_successes,
        'final_success_rate': final_success_rate,
        'task_results': task_results,
        'episode_logs': [],
        'policy_stats': policy_stats,
        'config': {'checkpoint': args.openvla_checkpoint, 'resize_size': 224,
                   'unnorm_key': 'libero_spatial_no_noops', 'num_trials': args.num_trials},
    }
    print(f"\n{'='*80}")
    print(f"OPENVLA BASELINE EVALUATION COMPLETE")  # line 558
    print(f"{'='*80}")
    print(f"Task Suite: {args.task_suite}")
    print(f"Overall Success Rate: {final_success_rate:.1%} ({total_successes}/{total_episodes})")  # line 561
    print(f"\nPer-Task Results:")
    print(f"{'Task':<50} {'Success Rate':<15} {'Episodes'}")
    print(f"{'-'*80}")
    for result in task_results:
        print(f"{result['task_description'][:47]:<50} {result['success_rate']:>6.1%} ({result['successes']}/{result['episodes']})")
    print(f"\n{'='*80}")
    print(f"Policy Statistics:")
    print(f"  Total Predictions: {policy_stats.get('total_predictions', 0)}")
    print(f"  Avg Inference Time: {policy_stats.get('avg_inference_time_ms', 0):.2f}ms")  # line 572
    print(f"  Fallback Rate: {policy_stats.get('fallback_rate', 0):.1%}")
    print(f"{'='*80}\n")
    results_path = Path(args.results_dir) / "baseline_results.json"  # line 587
    results_path.parent.mkdir(parents=True, exist_ok=True)
    with open(results_path, 'w') as f:
        json.dump(results, f, indent=2)


def main():
    parser = argparse.ArgumentParser(description="OpenVLA Baseline Evaluation on LIBERO")
    parser.add_argument('--task-suite', type=str, default='libero_spatial',
                        choices=['libero_spatial', 'libero_object', 'libero_goal', 'libero_10'])
    parser.add_argument('--num-trials', type=int, default=50)
    parser.add_argument('--openvla-checkpoint', type=str,
                        default=os.getenv('OPENVLA_CHECKPOINT', 'moojink/openvla-7b-oft-finetuned-libero-spatial'))
    parser.add_argument('--record-videos', action='store_true', default=True)
    parser.add_argument('--save-all-videos', action='store_true', default=False)
    parser.add_argument('--no-videos', dest='record_videos', action='store_false')
    parser.add_argument('--results-dir', type=str, default=os.getenv('RESULTS_DIR', './results'))
    parser.add_argument('--log-dir', type=str, default=os.getenv('LOG_DIR', './logs'))
    parser.add_argument('--device', type=str, default='cuda', choices=['cuda', 'cpu'])
    args = parser.parse_args()
    run_evaluation(args)


if __name__ == '__main__':
    main()
