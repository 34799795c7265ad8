# redis: the unmodified nixpkgs package. No version is declared here; it is whatever
# the pinned nixpkgs carries (service-versions.yaml names the package).
{ pkgs ? import <nixpkgs> { } }:
pkgs.dockerTools.buildLayeredImage {
  name = "redis";
  contents = [ pkgs.redis ];
  config.Cmd = [ "${pkgs.redis}/bin/redis-server" "--protected-mode" "no" ];
}
