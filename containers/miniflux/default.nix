# miniflux: built from source with nix; the version is declared here.
{ pkgs ? import <nixpkgs> { } }:
let
  miniflux = pkgs.buildGoModule rec {
    pname = "miniflux";
    version = "2.2.6";
    src = pkgs.fetchFromGitHub {
      owner = "miniflux";
      repo = "v2";
      rev = "v${version}";
      hash = "sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    };
    vendorHash = null;
    # The test fixture's own version must not be mistaken for the package's.
    passthru.tests = { version = "0.0.0"; };
  };
in
pkgs.dockerTools.buildLayeredImage {
  name = "miniflux";
  contents = [ miniflux pkgs.cacert ];
  config.Cmd = [ "${miniflux}/bin/miniflux" ];
}
