# The nixpkgs this repo builds with, as seen by `container-version` on a machine that
# cannot download nixpkgs: the attributes the containers use, with the pinned versions.
# NIX_PATH=nixpkgs=./nix/pinned is set in mise.toml; with network access, point it at
# the real pinned nixpkgs checkout instead.
{ ... }:
{
  redis = { pname = "redis"; version = "7.2.5"; };
  kiwix-tools = { pname = "kiwix-tools"; version = "3.8.2"; };
}
