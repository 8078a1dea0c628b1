import { Str } from "../../../../sdk/assembly";

export function psk_key_get(identity: Str, hint: Str): string { return "00ff"; }
