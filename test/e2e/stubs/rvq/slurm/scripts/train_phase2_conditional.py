#!/usr/bin/env python3
"""STUB of slurm/scripts/train_phase2_conditional.py (Oscar-Ge/RVQExperiment at d578ed2), for rfsq's tests.

Parses the same arguments as the real parse_args (lines 44-82: names with underscores, --data_path
required), needs the data file (lines 604-605), prints the real script's lines (draft model: lines
369-371, 387, 416-423; conditional main model: lines 513-517, 533, 566-574; summary 627-642) and
writes the checkpoints (lines 640-641). Trains nothing.
"""
import argparse
import os

from _stub import accuracy_at, number, write_stub_file


def parse_args():
    parser = argparse.ArgumentParser(description="Train Phase 2 Conditional RFSQ Models")
    parser.add_argument('--data_path', type=str, required=True)
    parser.add_argument('--epochs', type=int, default=50)
    parser.add_argument('--batch_size', type=int, default=32)
    parser.add_argument('--learning_rate', type=float, default=1e-4)
    parser.add_argument('--val_split', type=float, default=0.1)
    parser.add_argument('--draft_hidden_dim', type=int, default=512)
    parser.add_argument('--draft_input_dim', type=int, default=4096)
    parser.add_argument('--cond_hidden_dim', type=int, default=1024)
    parser.add_argument('--cond_input_dim', type=int, default=4096)
    parser.add_argument('--token_embed_dim', type=int, default=64)
    parser.add_argument('--num_coarse_layers', type=int, default=3)
    parser.add_argument('--num_layers', type=int, default=8)
    parser.add_argument('--chunk_len', type=int, default=8)
    parser.add_argument('--action_hidden_dim', type=int, default=16)
    parser.add_argument('--grid_size', type=int, default=7)
    parser.add_argument('--model_dir', type=str, default=None)
    parser.add_argument('--log_dir', type=str, default=None)
    parser.add_argument('--train_draft_only', action='store_true')
    parser.add_argument('--train_conditional_only', action='store_true')
    parser.add_argument('--save_every', type=int, default=5)
    parser.add_argument('--device', type=str, default='cuda')
    parser.add_argument('--num_workers', type=int, default=4)
    return parser.parse_args()


def train_draft(args, model_dir):
    print("\n" + "=" * 80)
    print("🚀 Training Draft Model (L0-L2 Prediction)")  # line 298
    print("=" * 80)
    peak = number('RVQ_STUB_DRAFT_ACC', 0.915)
    best_val_acc = 0.0
    for epoch in range(args.epochs):
        avg_val_acc = accuracy_at(epoch + 1, args.epochs, peak)
        val_accs = [min(1.0, avg_val_acc + 0.04), avg_val_acc, max(0.0, avg_val_acc - 0.04)]
        print(f"\nEpoch {epoch + 1}/{args.epochs} | Time: {1.5:.1f}s")  # line 369
        print(f"  Train Loss: {1 - avg_val_acc:.4f} | Train Acc: L0={val_accs[0]:.3f} L1={val_accs[1]:.3f} L2={val_accs[2]:.3f}")
        print(f"  Val Loss: {1.1 - avg_val_acc:.4f} | Val Acc: L0={val_accs[0]:.3f} L1={val_accs[1]:.3f} L2={val_accs[2]:.3f} | Avg={avg_val_acc:.3f}")  # line 371
        if avg_val_acc > best_val_acc:
            best_val_acc = avg_val_acc
            print(f"  ✅ Best model saved: {avg_val_acc:.3f}")  # line 387
    draft_model_path = os.path.join(model_dir, 'best_draft_with_projection.pt')
    write_stub_file(draft_model_path, "the draft checkpoint")
    print(f"\n✅ Best Draft Model saved to: {draft_model_path}")  # line 416
    print("\n" + "=" * 80)
    print(f"🎉 Draft Model Training Complete!")
    print(f"   Best Val Accuracy: {best_val_acc:.3f}")  # line 421
    print(f"   Status: {'✅ TARGET MET (>90%)' if best_val_acc > 0.90 else '⚠️ Below target'}")
    print("=" * 80)
    return best_val_acc


def train_conditional(args, model_dir):
    print("\n" + "=" * 80)
    print("🚀 Training CONDITIONAL Main Model (L0-L7 with Mode Locking)")  # line 434
    print("=" * 80)
    peak = number('RVQ_STUB_MAIN_ACC', 0.921)
    best_val_acc = 0.0
    for epoch in range(args.epochs):
        avg_val_acc = accuracy_at(epoch + 1, args.epochs, peak)
        val_accs = [max(0.0, min(1.0, avg_val_acc + 0.03 - layer * 0.01)) for layer in range(8)]
        print(f"\nEpoch {epoch + 1}/{args.epochs} | Time: {2.5:.1f}s")  # line 513
        print(f"  Train Loss: {1 - avg_val_acc:.4f}")
        print(f"  Val Loss: {1.1 - avg_val_acc:.4f} | Val Acc (avg): {avg_val_acc:.3f}")  # line 515
        print(f"  Per-layer: L0={val_accs[0]:.3f} L1={val_accs[1]:.3f} L2={val_accs[2]:.3f} L3={val_accs[3]:.3f}")
        print(f"             L4={val_accs[4]:.3f} L5={val_accs[5]:.3f} L6={val_accs[6]:.3f} L7={val_accs[7]:.3f}")
        if avg_val_acc > best_val_acc:
            best_val_acc = avg_val_acc
            print(f"  ✅ Best model saved: {avg_val_acc:.3f}")  # line 533
    cond_model_path = os.path.join(model_dir, 'openvla_rfsq_conditional', 'best_rfsq_head.pt')
    write_stub_file(cond_model_path, "the conditional main checkpoint")
    print(f"\n✅ Best Conditional Model saved to: {cond_model_path}")  # line 566
    print("\n" + "=" * 80)
    print(f"🎉 Conditional RFSQ Head Training Complete!")
    print(f"   Best Val Accuracy: {best_val_acc:.3f}")  # line 571
    print(f"   Mode Locking: ✅ Enabled")
    print(f"   Status: {'✅ TARGET MET (>92%)' if best_val_acc > 0.92 else '⚠️ Below target'}")
    print("=" * 80)
    return best_val_acc


def main():
    args = parse_args()
    model_dir = args.model_dir or os.getenv('RVQ_MODEL_DIR', './models')  # line 590
    os.makedirs(model_dir, exist_ok=True)
    print("🚀 Using device: cpu")  # line 600
    print(f"\n📦 Loading training data from {args.data_path}...")  # line 603
    if not os.path.exists(args.data_path):
        raise FileNotFoundError(f"Training data not found at {args.data_path}")  # line 605
    print("✅ Loaded 7400 samples")  # line 608
    results = {}
    if not args.train_conditional_only:
        results['draft_accuracy'] = train_draft(args, model_dir)
    else:
        print("\n⏭️  Skipping Draft Model training")  # line 617
    if not args.train_draft_only:
        results['conditional_accuracy'] = train_conditional(args, model_dir)
    else:
        print("\n⏭️  Skipping Conditional Model training")  # line 624
    print("\n" + "=" * 80)
    print("🎉 Phase 2 CONDITIONAL Training Pipeline Complete!")  # line 628
    print("=" * 80)
    if 'draft_accuracy' in results:
        status = "✅" if results['draft_accuracy'] > 0.90 else "⚠️"
        print(f"   {status} Draft Model Accuracy: {results['draft_accuracy']:.3f} (target: >90%)")  # line 633
    if 'conditional_accuracy' in results:
        status = "✅" if results['conditional_accuracy'] > 0.92 else "⚠️"
        print(f"   {status} Conditional RFSQ Head Accuracy: {results['conditional_accuracy']:.3f} (target: >92%)")  # line 637
    print("\n📁 Output files:")
    print(f"   - {os.path.join(model_dir, 'best_draft_with_projection.pt')}")
    print(f"   - {os.path.join(model_dir, 'openvla_rfsq_conditional', 'best_rfsq_head.pt')}")
    print("=" * 80)


if __name__ == "__main__":
    main()
