plugins {
    id("com.android.library") version "8.7.3"
    id("org.jetbrains.kotlin.android") version "2.1.21"
    id("org.jetbrains.kotlin.plugin.serialization") version "2.1.21"
    id("maven-publish")
}

group = "dev.tether"
version = "0.1.0"

android {
    namespace = "dev.tether"
    compileSdk = 35

    defaultConfig {
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
    }

    sourceSets["main"].apply {
        // The hand-written sugar is shared with the JVM (Maven) build; src/main/kotlin holds
        // what only Android has (ConnectivityManager, ProcessLifecycleOwner and Logcat adapters).
        java.srcDirs("../src/main/kotlin", "src/main/kotlin", "generated")
        // build-aar.sh puts libtether_ffi.so here, one folder per ABI.
        jniLibs.srcDirs("src/main/jniLibs")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    kotlinOptions {
        jvmTarget = "17"
    }

    publishing {
        singleVariant("release") {
            withSourcesJar()
        }
    }
}

dependencies {
    // JNA's AAR carries libjnidispatch.so for every Android ABI.
    implementation("net.java.dev.jna:jna:5.17.0@aar")
    implementation("androidx.annotation:annotation:1.9.1")
    // ProcessLifecycleOwner and DefaultLifecycleObserver (AppLifecycleHints).
    implementation("androidx.lifecycle:lifecycle-process:2.8.7")
    implementation("androidx.lifecycle:lifecycle-common:2.8.7")
    api("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.10.2")
    api("org.jetbrains.kotlinx:kotlinx-serialization-json:1.8.1")
}

publishing {
    publications {
        register<MavenPublication>("release") {
            artifactId = "tether-android"
            afterEvaluate { from(components["release"]) }
        }
    }
}
