/** The Node floor's frame layout, shared by its server and client (bench/peers/floor-server.ts). */

/** u32 BE payload length. */
export const FLOOR_HEADER_BYTES = 4;
/** op byte + f64 BE value, before the key. */
export const FLOOR_FIXED_BYTES = 9;
/** An answer: header + f64 BE value. */
export const FLOOR_ANSWER_BYTES = 12;
