{ pkgs ? import <nixpkgs> { } }:
let
  version = "3.8.2";
in
pkgs.dockerTools.buildLayeredImage {
  name = "kiwix-serve";
  tag = version;
  contents = [ pkgs.kiwix-tools ];
  config = {
    Cmd = [ "kiwix-serve" "--port" "8080" ];
    ExposedPorts = { "8080/tcp" = { }; };
  };
}
