// The Android library (AAR) of Tether: the same Kotlin sources as the JVM build (../src/main),
// the generated bindings (generated/, Android flavour) and libtether_ffi.so for each ABI
// (src/main/jniLibs/, built by build-aar.sh with cargo-ndk). Untested on the project's
// machines: they have no Android SDK or NDK.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "tether-android"
