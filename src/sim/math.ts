/** Small pose helpers: quaternions are MuJoCo's (w, x, y, z). */

export type Vec3 = [number, number, number];
export type Quat = [number, number, number, number];

export function yawQuat(yaw: number): Quat {
  return [Math.cos(yaw / 2), 0, 0, Math.sin(yaw / 2)];
}

/** Heading of a quaternion's x axis projected on the table plane. */
export function quatYaw(q: ArrayLike<number>, offset = 0): number {
  const w = q[offset]!;
  const x = q[offset + 1]!;
  const y = q[offset + 2]!;
  const z = q[offset + 3]!;
  return Math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z));
}

/** Wraps an angle to [-period/2, period/2) (period 2π for plain angles, π for a 180°-symmetric object). */
export function wrapAngle(angle: number, period = 2 * Math.PI): number {
  return angle - period * Math.floor(angle / period + 0.5);
}

export function quatMul(a: Quat, b: Quat): Quat {
  return [
    a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3],
    a[0] * b[1] + a[1] * b[0] + a[2] * b[3] - a[3] * b[2],
    a[0] * b[2] - a[1] * b[3] + a[2] * b[0] + a[3] * b[1],
    a[0] * b[3] + a[1] * b[2] - a[2] * b[1] + a[3] * b[0],
  ];
}

export function quatConj(q: Quat): Quat {
  return [q[0], -q[1], -q[2], -q[3]];
}

/** Rotates v by the inverse of unit quaternion q (world → body frame). */
export function rotateInv(q: Quat, v: Vec3): Vec3 {
  const r = quatMul(quatMul(quatConj(q), [0, v[0], v[1], v[2]]), q);
  return [r[1], r[2], r[3]];
}

export function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
