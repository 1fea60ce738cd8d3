#!/usr/bin/env python3
"""STUB of slurm/scripts/train_phase1_rfsq.py (Oscar-Ge/RVQExperiment at d578ed2), for rfsq's tests.

Parses the same arguments as the real parse_args (lines 41-65: names with underscores, and
--use_layernorm with type=bool, so any non-empty value is True), needs the same training data file,
prints the real script's lines (format strings of lines 171-172, 232, 260-264, 271, 299, 302-309)
and writes <model_dir>/rfsq_robust_best.pt (line 294). Trains nothing.
"""
import argparse
import math
import os

from _stub import number, write_stub_file


def parse_args():
    parser = argparse.ArgumentParser(description="Train Phase 1 Robust RFSQ AutoEncoder")
    parser.add_argument('--epochs', type=int, default=100)
    parser.add_argument('--batch_size', type=int, default=64)
    parser.add_argument('--learning_rate', type=float, default=1e-3)
    parser.add_argument('--hidden_dim', type=int, default=16)
    parser.add_argument('--num_layers', type=int, default=8)
    parser.add_argument('--num_levels', type=int, default=7)
    parser.add_argument('--use_layernorm', type=bool, default=True)
    parser.add_argument('--entropy_weight', type=float, default=0.05)
    parser.add_argument('--data_dir', type=str, default=None)
    parser.add_argument('--model_dir', type=str, default=None)
    parser.add_argument('--log_dir', type=str, default=None)
    parser.add_argument('--save_every', type=int, default=10)
    parser.add_argument('--device', type=str, default='cuda')
    parser.add_argument('--debug', action='store_true')
    return parser.parse_args()


def main():
    args = parse_args()
    if args.debug:
        print("🔧 Debug mode: Running 10 epochs only")
        args.epochs = 10
    data_dir = args.data_dir or os.getenv('RVQ_DATA_DIR', './data')  # line 161
    model_dir = args.model_dir or os.getenv('RVQ_MODEL_DIR', './models')
    os.makedirs(model_dir, exist_ok=True)
    print("🚀 Using device: cpu")  # line 171
    print(f"📊 Training Robust RFSQ with LayerNorm={args.use_layernorm}")  # line 172
    data_path = os.path.join(data_dir, "libero_actions_normalized.pt")  # line 193
    print(f"\n📦 Loading training data from {data_path}...")  # line 70
    if not os.path.exists(data_path):
        raise FileNotFoundError(f"Training data not found at {data_path}")  # line 73
    print(f"\n🔥 Starting training for {args.epochs} epochs...")  # line 232
    floor = number('RVQ_STUB_MSE', 0.0098)
    best_mse, best_epoch = float('inf'), 0
    for epoch in range(args.epochs):
        progress = (epoch + 1) / args.epochs
        avg_mse = floor * (1 + 2 * math.exp(-(epoch + 1) / 8)) + (floor * 0.3 if progress > 0.8 else 0)
        print(f"Epoch {epoch+1}/{args.epochs} | "
              f"MSE: {avg_mse:.6f} | "
              f"Entropy: {-1.9:.4f} | "
              f"LR: {args.learning_rate:.6f} | "
              f"Time: {2.4:.1f}s")  # lines 260-264
        if avg_mse < best_mse:
            best_mse, best_epoch = avg_mse, epoch + 1
            print(f"   ✅ New best model! MSE: {avg_mse:.6f}")  # line 271
    best_model_path = os.path.join(model_dir, "rfsq_robust_best.pt")
    write_stub_file(best_model_path, "the checkpoint the real trainer saves")
    print(f"\n✅ Best model saved to: {best_model_path}")  # line 299
    print("\n" + "=" * 60)
    print("🎉 Training Complete!")
    print("=" * 60)
    print(f"   Best MSE: {best_mse:.6f} (at epoch {best_epoch})")  # line 305
    print(f"   Target MSE: < 0.012")
    print(f"   Status: {'✅ TARGET MET!' if best_mse < 0.012 else '⚠️ Target not met'}")
    print(f"   Checkpoint: {best_model_path}")
    print("=" * 60)


if __name__ == "__main__":
    main()
